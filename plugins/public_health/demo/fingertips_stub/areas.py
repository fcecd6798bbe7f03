"""Reference geography served by the stub: England, the nine regions and the upper-tier authorities.

The upper-tier list (Fingertips area type 502, "Counties & UAs (from Apr 2023)") uses the ONS codes and
names of English counties and unitary authorities as they stood from April 2023: the pre-2019 list
published in public sources, with the later reorganisations applied (BCP, Dorset, Buckinghamshire,
North/West Northamptonshire, Cumberland, Westmorland and Furness, North Yorkshire, Somerset) and the
2020 code changes for Northumberland (E06000057) and Gateshead (E08000037).

The CIPFA nearest neighbours of Leicestershire, Leicester and Rutland are plausible lists of similar
authorities (15 each, as Fingertips serves), not a copy of the CIPFA model's output.
"""

from __future__ import annotations

ENGLAND = ("E92000001", "England")

REGIONS: dict[str, str] = {
    "E12000001": "North East region (statistical)",
    "E12000002": "North West region (statistical)",
    "E12000003": "Yorkshire and the Humber region (statistical)",
    "E12000004": "East Midlands region (statistical)",
    "E12000005": "West Midlands region (statistical)",
    "E12000006": "East of England region (statistical)",
    "E12000007": "London region (statistical)",
    "E12000008": "South East region (statistical)",
    "E12000009": "South West region (statistical)",
}

# code|name|region suffix (E1200000<n>)
_UTLA = """\
E06000001|Hartlepool|1
E06000002|Middlesbrough|1
E06000003|Redcar and Cleveland|1
E06000004|Stockton-on-Tees|1
E06000005|Darlington|1
E06000006|Halton|2
E06000007|Warrington|2
E06000008|Blackburn with Darwen|2
E06000009|Blackpool|2
E06000010|Kingston upon Hull|3
E06000011|East Riding of Yorkshire|3
E06000012|North East Lincolnshire|3
E06000013|North Lincolnshire|3
E06000014|York|3
E06000015|Derby|4
E06000016|Leicester|4
E06000017|Rutland|4
E06000018|Nottingham|4
E06000019|Herefordshire|5
E06000020|Telford and Wrekin|5
E06000021|Stoke-on-Trent|5
E06000022|Bath and North East Somerset|9
E06000023|Bristol|9
E06000024|North Somerset|9
E06000025|South Gloucestershire|9
E06000026|Plymouth|9
E06000027|Torbay|9
E06000030|Swindon|9
E06000031|Peterborough|6
E06000032|Luton|6
E06000033|Southend-on-Sea|6
E06000034|Thurrock|6
E06000035|Medway|8
E06000036|Bracknell Forest|8
E06000037|West Berkshire|8
E06000038|Reading|8
E06000039|Slough|8
E06000040|Windsor and Maidenhead|8
E06000041|Wokingham|8
E06000042|Milton Keynes|8
E06000043|Brighton and Hove|8
E06000044|Portsmouth|8
E06000045|Southampton|8
E06000046|Isle of Wight|8
E06000047|County Durham|1
E06000049|Cheshire East|2
E06000050|Cheshire West and Chester|2
E06000051|Shropshire|5
E06000052|Cornwall|9
E06000053|Isles of Scilly|9
E06000054|Wiltshire|9
E06000055|Bedford|6
E06000056|Central Bedfordshire|6
E06000057|Northumberland|1
E06000058|Bournemouth, Christchurch and Poole|9
E06000059|Dorset|9
E06000060|Buckinghamshire|8
E06000061|North Northamptonshire|4
E06000062|West Northamptonshire|4
E06000063|Cumberland|2
E06000064|Westmorland and Furness|2
E06000065|North Yorkshire|3
E06000066|Somerset|9
E08000001|Bolton|2
E08000002|Bury|2
E08000003|Manchester|2
E08000004|Oldham|2
E08000005|Rochdale|2
E08000006|Salford|2
E08000007|Stockport|2
E08000008|Tameside|2
E08000009|Trafford|2
E08000010|Wigan|2
E08000011|Knowsley|2
E08000012|Liverpool|2
E08000013|St. Helens|2
E08000014|Sefton|2
E08000015|Wirral|2
E08000016|Barnsley|3
E08000017|Doncaster|3
E08000018|Rotherham|3
E08000019|Sheffield|3
E08000021|Newcastle upon Tyne|1
E08000022|North Tyneside|1
E08000023|South Tyneside|1
E08000024|Sunderland|1
E08000025|Birmingham|5
E08000026|Coventry|5
E08000027|Dudley|5
E08000028|Sandwell|5
E08000029|Solihull|5
E08000030|Walsall|5
E08000031|Wolverhampton|5
E08000032|Bradford|3
E08000033|Calderdale|3
E08000034|Kirklees|3
E08000035|Leeds|3
E08000036|Wakefield|3
E08000037|Gateshead|1
E09000001|City of London|7
E09000002|Barking and Dagenham|7
E09000003|Barnet|7
E09000004|Bexley|7
E09000005|Brent|7
E09000006|Bromley|7
E09000007|Camden|7
E09000008|Croydon|7
E09000009|Ealing|7
E09000010|Enfield|7
E09000011|Greenwich|7
E09000012|Hackney|7
E09000013|Hammersmith and Fulham|7
E09000014|Haringey|7
E09000015|Harrow|7
E09000016|Havering|7
E09000017|Hillingdon|7
E09000018|Hounslow|7
E09000019|Islington|7
E09000020|Kensington and Chelsea|7
E09000021|Kingston upon Thames|7
E09000022|Lambeth|7
E09000023|Lewisham|7
E09000024|Merton|7
E09000025|Newham|7
E09000026|Redbridge|7
E09000027|Richmond upon Thames|7
E09000028|Southwark|7
E09000029|Sutton|7
E09000030|Tower Hamlets|7
E09000031|Waltham Forest|7
E09000032|Wandsworth|7
E09000033|Westminster|7
E10000003|Cambridgeshire|6
E10000007|Derbyshire|4
E10000008|Devon|9
E10000011|East Sussex|8
E10000012|Essex|6
E10000013|Gloucestershire|9
E10000014|Hampshire|8
E10000015|Hertfordshire|6
E10000016|Kent|8
E10000017|Lancashire|2
E10000018|Leicestershire|4
E10000019|Lincolnshire|4
E10000020|Norfolk|6
E10000024|Nottinghamshire|4
E10000025|Oxfordshire|8
E10000028|Staffordshire|5
E10000029|Suffolk|6
E10000030|Surrey|8
E10000031|Warwickshire|5
E10000032|West Sussex|8
E10000034|Worcestershire|5
"""

# (code, name, region code) in ONS code order.
UPPER_TIER: list[tuple[str, str, str]] = [
    (code, name, f"E1200000{region}")
    for code, name, region in (line.split("|") for line in _UTLA.splitlines() if line.strip())
]

CIPFA_NEIGHBOURS: dict[str, list[str]] = {
    # Leicestershire
    "E10000018": [
        "E10000031", "E10000034", "E10000028", "E10000013", "E10000024", "E10000007", "E06000062",
        "E10000025", "E10000003", "E10000015", "E10000032", "E06000061", "E10000029", "E10000012", "E10000014",
    ],
    # Leicester
    "E06000016": [
        "E06000018", "E08000026", "E06000015", "E08000028", "E08000031", "E06000032", "E06000039",
        "E08000032", "E08000025", "E08000030", "E06000045", "E06000031", "E06000023", "E08000034", "E08000003",
    ],
    # Rutland
    "E06000017": [
        "E06000022", "E06000040", "E06000041", "E06000037", "E06000051", "E06000049", "E06000014",
        "E06000019", "E06000054", "E06000036", "E06000046", "E06000024", "E06000011", "E06000025", "E06000056",
    ],
}


# ---- Districts (Fingertips area type 501, "Districts & UAs (from Apr 2023)") ------------------------------
#
# The 164 non-metropolitan districts of the 21 two-tier counties above, as they stood from April 2023
# (after the Buckinghamshire, Dorset, Northamptonshire, Cumbria, North Yorkshire and Somerset unitary
# reorganisations, Suffolk's 2019 mergers and Hertfordshire's 2013-14 boundary recodes), with their county.
# Area type 501 is these districts plus every unitary authority, metropolitan district and London borough
# of the upper-tier list (296 areas). Codes and names: a public National Travel Survey local authority lookup
# and an ODI Leeds dashboard's local authority to upper-tier map, both found through the code index (which
# does not name their repositories); E07000112 takes its 2018 name (Folkestone and Hythe, formerly Shepway).
# code|name|county code
_DISTRICTS = """\
E07000008|Cambridge|E10000003
E07000009|East Cambridgeshire|E10000003
E07000010|Fenland|E10000003
E07000011|Huntingdonshire|E10000003
E07000012|South Cambridgeshire|E10000003
E07000032|Amber Valley|E10000007
E07000033|Bolsover|E10000007
E07000034|Chesterfield|E10000007
E07000035|Derbyshire Dales|E10000007
E07000036|Erewash|E10000007
E07000037|High Peak|E10000007
E07000038|North East Derbyshire|E10000007
E07000039|South Derbyshire|E10000007
E07000040|East Devon|E10000008
E07000041|Exeter|E10000008
E07000042|Mid Devon|E10000008
E07000043|North Devon|E10000008
E07000044|South Hams|E10000008
E07000045|Teignbridge|E10000008
E07000046|Torridge|E10000008
E07000047|West Devon|E10000008
E07000061|Eastbourne|E10000011
E07000062|Hastings|E10000011
E07000063|Lewes|E10000011
E07000064|Rother|E10000011
E07000065|Wealden|E10000011
E07000066|Basildon|E10000012
E07000067|Braintree|E10000012
E07000068|Brentwood|E10000012
E07000069|Castle Point|E10000012
E07000070|Chelmsford|E10000012
E07000071|Colchester|E10000012
E07000072|Epping Forest|E10000012
E07000073|Harlow|E10000012
E07000074|Maldon|E10000012
E07000075|Rochford|E10000012
E07000076|Tendring|E10000012
E07000077|Uttlesford|E10000012
E07000078|Cheltenham|E10000013
E07000079|Cotswold|E10000013
E07000080|Forest of Dean|E10000013
E07000081|Gloucester|E10000013
E07000082|Stroud|E10000013
E07000083|Tewkesbury|E10000013
E07000084|Basingstoke and Deane|E10000014
E07000085|East Hampshire|E10000014
E07000086|Eastleigh|E10000014
E07000087|Fareham|E10000014
E07000088|Gosport|E10000014
E07000089|Hart|E10000014
E07000090|Havant|E10000014
E07000091|New Forest|E10000014
E07000092|Rushmoor|E10000014
E07000093|Test Valley|E10000014
E07000094|Winchester|E10000014
E07000095|Broxbourne|E10000015
E07000096|Dacorum|E10000015
E07000098|Hertsmere|E10000015
E07000099|North Hertfordshire|E10000015
E07000102|Three Rivers|E10000015
E07000103|Watford|E10000015
E07000105|Ashford|E10000016
E07000106|Canterbury|E10000016
E07000107|Dartford|E10000016
E07000108|Dover|E10000016
E07000109|Gravesham|E10000016
E07000110|Maidstone|E10000016
E07000111|Sevenoaks|E10000016
E07000112|Folkestone and Hythe|E10000016
E07000113|Swale|E10000016
E07000114|Thanet|E10000016
E07000115|Tonbridge and Malling|E10000016
E07000116|Tunbridge Wells|E10000016
E07000117|Burnley|E10000017
E07000118|Chorley|E10000017
E07000119|Fylde|E10000017
E07000120|Hyndburn|E10000017
E07000121|Lancaster|E10000017
E07000122|Pendle|E10000017
E07000123|Preston|E10000017
E07000124|Ribble Valley|E10000017
E07000125|Rossendale|E10000017
E07000126|South Ribble|E10000017
E07000127|West Lancashire|E10000017
E07000128|Wyre|E10000017
E07000129|Blaby|E10000018
E07000130|Charnwood|E10000018
E07000131|Harborough|E10000018
E07000132|Hinckley and Bosworth|E10000018
E07000133|Melton|E10000018
E07000134|North West Leicestershire|E10000018
E07000135|Oadby and Wigston|E10000018
E07000136|Boston|E10000019
E07000137|East Lindsey|E10000019
E07000138|Lincoln|E10000019
E07000139|North Kesteven|E10000019
E07000140|South Holland|E10000019
E07000141|South Kesteven|E10000019
E07000142|West Lindsey|E10000019
E07000143|Breckland|E10000020
E07000144|Broadland|E10000020
E07000145|Great Yarmouth|E10000020
E07000146|King's Lynn and West Norfolk|E10000020
E07000147|North Norfolk|E10000020
E07000148|Norwich|E10000020
E07000149|South Norfolk|E10000020
E07000170|Ashfield|E10000024
E07000171|Bassetlaw|E10000024
E07000172|Broxtowe|E10000024
E07000173|Gedling|E10000024
E07000174|Mansfield|E10000024
E07000175|Newark and Sherwood|E10000024
E07000176|Rushcliffe|E10000024
E07000177|Cherwell|E10000025
E07000178|Oxford|E10000025
E07000179|South Oxfordshire|E10000025
E07000180|Vale of White Horse|E10000025
E07000181|West Oxfordshire|E10000025
E07000192|Cannock Chase|E10000028
E07000193|East Staffordshire|E10000028
E07000194|Lichfield|E10000028
E07000195|Newcastle-under-Lyme|E10000028
E07000196|South Staffordshire|E10000028
E07000197|Stafford|E10000028
E07000198|Staffordshire Moorlands|E10000028
E07000199|Tamworth|E10000028
E07000200|Babergh|E10000029
E07000202|Ipswich|E10000029
E07000203|Mid Suffolk|E10000029
E07000207|Elmbridge|E10000030
E07000208|Epsom and Ewell|E10000030
E07000209|Guildford|E10000030
E07000210|Mole Valley|E10000030
E07000211|Reigate and Banstead|E10000030
E07000212|Runnymede|E10000030
E07000213|Spelthorne|E10000030
E07000214|Surrey Heath|E10000030
E07000215|Tandridge|E10000030
E07000216|Waverley|E10000030
E07000217|Woking|E10000030
E07000218|North Warwickshire|E10000031
E07000219|Nuneaton and Bedworth|E10000031
E07000220|Rugby|E10000031
E07000221|Stratford-on-Avon|E10000031
E07000222|Warwick|E10000031
E07000223|Adur|E10000032
E07000224|Arun|E10000032
E07000225|Chichester|E10000032
E07000226|Crawley|E10000032
E07000227|Horsham|E10000032
E07000228|Mid Sussex|E10000032
E07000229|Worthing|E10000032
E07000234|Bromsgrove|E10000034
E07000235|Malvern Hills|E10000034
E07000236|Redditch|E10000034
E07000237|Worcester|E10000034
E07000238|Wychavon|E10000034
E07000239|Wyre Forest|E10000034
E07000240|St Albans|E10000015
E07000241|Welwyn Hatfield|E10000015
E07000242|East Hertfordshire|E10000015
E07000243|Stevenage|E10000015
E07000244|East Suffolk|E10000029
E07000245|West Suffolk|E10000029
"""

# (code, name, county code) in ONS code order.
DISTRICTS: list[tuple[str, str, str]] = [
    (code, name, county)
    for code, name, county in (line.split("|") for line in _DISTRICTS.splitlines() if line.strip())
]
