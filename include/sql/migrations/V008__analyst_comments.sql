-- Comments for analysts on every table and column of core and audit, on PostgreSQL and DuckDB alike.
--
-- Every table comment opens with its grain ("One row per ..."), which docs/warehouse.md shows as the
-- grain; column comments give what the column holds, its unit, its codes and what NULL means. This file
-- restates the comments V001-V007 gave, so it is the one place to read them. The mart views carry their
-- comments in the repeatable file that creates them (include/sql/marts/R__*.sql, after each CREATE OR
-- REPLACE VIEW): DuckDB drops a view's comments when the view is replaced, so a view's comments must be
-- re-applied whenever the view is. tests/unit/test_warehouse_comments.py fails on any table, view or
-- column left without one, on both backends.
-- Written once for PostgreSQL and DuckDB (COMMENT ON TABLE / COLUMN only).

-- audit.load_batch ----------------------------------------------------------------------------------
COMMENT ON TABLE audit.load_batch IS 'One row per load attempt: one Fingertips indicator of a nightly batch (or a whole batch found unchanged without a download), one provider return file, or one KPI history file. Says where the data came from (source_ref, sha256, landing copy), the rows read, inserted, updated and left unchanged, the status, why an attempt was quarantined or failed, step timings, and the Airflow DAG, run and task that ran it. Every core fact row names the batch that last changed it (batch_id).';
COMMENT ON COLUMN audit.load_batch.batch_id IS 'Load attempt id (sequence audit.load_batch_id_seq), increasing in the order attempts started. Referenced by core facts (batch that last changed a row), history rows, core.return_received and audit.dq_result.';
COMMENT ON COLUMN audit.load_batch.source IS 'Pipeline of the attempt: fingertips (nightly PHOF refresh), provider_return (a return file from the shared drive) or kpi_history_import (a KPI history file).';
COMMENT ON COLUMN audit.load_batch.source_ref IS 'Where the data came from: the Fingertips all_data URL of the indicator (of the whole batch when nothing was downloaded), the return file''s path below the shared drive, or the history file''s path.';
COMMENT ON COLUMN audit.load_batch.sha256 IS 'sha256 of the raw file as received (the landing copy is filed under it); NULL when nothing was downloaded or read.';
COMMENT ON COLUMN audit.load_batch.landing_path IS 'Where the raw file is kept, unchanged, in the landing area (data/landing/...); NULL when nothing was downloaded.';
COMMENT ON COLUMN audit.load_batch.rows_read IS 'Data rows read for this attempt (for Fingertips, this indicator''s rows of the download); NULL while running, or when the file could not be read.';
COMMENT ON COLUMN audit.load_batch.rows_loaded IS 'Rows that changed core: rows_inserted plus rows_updated. NULL when nothing was loaded (running, quarantined, failed).';
COMMENT ON COLUMN audit.load_batch.rows_inserted IS 'Fact rows new to core. NULL when nothing was loaded.';
COMMENT ON COLUMN audit.load_batch.rows_updated IS 'Fact rows whose values changed; the previous version of each was first copied to the history table. NULL when nothing was loaded.';
COMMENT ON COLUMN audit.load_batch.rows_unchanged IS 'Rows identical to what core already held, left alone. NULL when nothing was loaded.';
COMMENT ON COLUMN audit.load_batch.status IS 'running (started, not finished: still going, or the process died), loaded, quarantined (failed its checks; nothing loaded; see report_path), failed (an error; nothing loaded) or unchanged (same content as already loaded; nothing rewritten).';
COMMENT ON COLUMN audit.load_batch.error_summary IS 'Why the attempt was quarantined or failed, naming the file, sheet and cell, line, column or URL; for a loaded KPI history import, its warnings. NULL otherwise (a loaded return''s warnings are in core.return_received.error_summary).';
COMMENT ON COLUMN audit.load_batch.report_path IS 'The quarantine report (report.md, report.json beside it) of a quarantined attempt; NULL otherwise.';
COMMENT ON COLUMN audit.load_batch.started_at IS 'When the attempt started (UTC).';
COMMENT ON COLUMN audit.load_batch.finished_at IS 'When the attempt finished (UTC); NULL while status is running.';
COMMENT ON COLUMN audit.load_batch.download_s IS 'Seconds spent downloading the raw file (Fingertips only); NULL when not measured.';
COMMENT ON COLUMN audit.load_batch.parse_s IS 'Seconds spent parsing the raw file into typed rows (Fingertips only); NULL when not measured.';
COMMENT ON COLUMN audit.load_batch.validate_s IS 'Seconds spent staging and running the data-quality gate (Fingertips only); NULL when not measured.';
COMMENT ON COLUMN audit.load_batch.load_s IS 'Seconds spent in the load transaction (Fingertips only); NULL when not measured or nothing loaded.';
COMMENT ON COLUMN audit.load_batch.dag_id IS 'Airflow DAG that ran the attempt: fingertips_refresh, provider_returns or kpi_history_import; NULL when run outside Airflow (command line, tests).';
COMMENT ON COLUMN audit.load_batch.run_id IS 'Airflow run id, e.g. scheduled__2018-05-01T01:00:00+00:00: every attempt of one nightly run shares it; NULL outside Airflow.';
COMMENT ON COLUMN audit.load_batch.task_id IS 'Airflow task that recorded the attempt (e.g. select_batches, validate, load, process, import_file); NULL outside Airflow.';
COMMENT ON COLUMN audit.load_batch.details IS 'JSON with the rest: for Fingertips the batch''s indicator ids, URL and download size (or why a batch was skipped), for a return its size in bytes, for a history import its as_of quarter and size.';
COMMENT ON COLUMN audit.load_batch.indicator_id IS 'Fingertips indicator id of a per-indicator attempt; NULL for a whole Fingertips batch (skipped unchanged or failed download), a provider return or a history import.';
COMMENT ON COLUMN audit.load_batch.content_sha256 IS 'sha256 of this indicator''s rows in the raw file (the raw file''s own hash is sha256): equal hashes mean the indicator''s content did not change. NULL when not computed (returns, history imports, failed downloads).';
COMMENT ON COLUMN audit.load_batch.held_since IS 'On a quarantined row whose content equals an earlier quarantine: the indicator has been held in quarantine since this time (UTC) and the run does not count it as a new problem. NULL otherwise.';

-- audit.dq_result -----------------------------------------------------------------------------------
COMMENT ON TABLE audit.dq_result IS 'One row per expectation of a data-quality suite evaluated against one load attempt: passed or not, rows checked and failing, what was observed, and up to 20 failing examples. Failed expectations of severity error are why an attempt was quarantined; failed warnings loaded and are shown beside the figures.';
COMMENT ON COLUMN audit.dq_result.batch_id IS 'The load attempt checked (audit.load_batch).';
COMMENT ON COLUMN audit.dq_result.suite IS 'Great Expectations suite (include/expectations/<suite>.json): fingertips_indicator_values, or provider_kpi_values (provider returns and KPI history imports).';
COMMENT ON COLUMN audit.dq_result.expectation_index IS 'Position of the expectation in its suite, from 0. With batch_id and suite, the row''s key.';
COMMENT ON COLUMN audit.dq_result.expectation IS 'Expectation type, e.g. expect_column_values_to_not_be_null, expect_column_values_to_be_between.';
COMMENT ON COLUMN audit.dq_result.column_name IS 'Column the expectation checks (a published or a staged, derived column); NULL for a table-level expectation such as the set of columns.';
COMMENT ON COLUMN audit.dq_result.severity IS 'error: a failure quarantines the attempt; warning: a failure is recorded and shown, and the data still loads. An error the suite''s exceptions accept (for one indicator, with a reason) is recorded as a warning.';
COMMENT ON COLUMN audit.dq_result.success IS 'True when the data met the expectation; false when any row failed it (see severity for what that did).';
COMMENT ON COLUMN audit.dq_result.element_count IS 'Rows the expectation looked at; NULL for a table-level expectation.';
COMMENT ON COLUMN audit.dq_result.unexpected_count IS 'Rows that failed the expectation; NULL for a table-level expectation.';
COMMENT ON COLUMN audit.dq_result.observed_value IS 'What the check observed (JSON), e.g. the columns found; NULL when the expectation reports none.';
COMMENT ON COLUMN audit.dq_result.unexpected_examples IS 'Up to 20 failing values with their row numbers (JSON); NULL when none failed.';
COMMENT ON COLUMN audit.dq_result.description IS 'The rule in words, as the suite states it (e.g. Every row has an area code), with the reason of an exception that accepted its failure.';

-- audit.report_build --------------------------------------------------------------------------------
COMMENT ON TABLE audit.report_build IS 'One row per report build: which report (the quarterly performance report or the BCF return) and quarter, when, the load batches its figures came from and the sha256 of every file written. Builds with equal content_sha256 printed the same figures.';
COMMENT ON COLUMN audit.report_build.build_id IS 'Build id (sequence audit.report_build_id_seq), increasing in build order.';
COMMENT ON COLUMN audit.report_build.report IS 'Which report: performance_report or bcf_return.';
COMMENT ON COLUMN audit.report_build.period_label IS 'Financial-year quarter the report is for, e.g. 2017-18-Q2.';
COMMENT ON COLUMN audit.report_build.built_at IS 'When the report was built (UTC).';
COMMENT ON COLUMN audit.report_build.batch_ids IS 'Comma-separated audit.load_batch ids of the figures the report used; NULL when none were recorded.';
COMMENT ON COLUMN audit.report_build.outputs IS 'JSON object: output file path -> sha256 of the file written.';
COMMENT ON COLUMN audit.report_build.content_sha256 IS 'sha256 of the report''s figures, independent of the build time: equal builds from the same warehouse have equal content hashes. NULL when not computed.';
COMMENT ON COLUMN audit.report_build.dag_id IS 'Airflow DAG that built it (performance_report, bcf_return); NULL when built outside Airflow.';
COMMENT ON COLUMN audit.report_build.run_id IS 'Airflow run id of the build; NULL outside Airflow.';
COMMENT ON COLUMN audit.report_build.task_id IS 'Airflow task of the build; NULL outside Airflow.';

-- audit.schema_migration (created by the migration runner itself) -----------------------------------
COMMENT ON TABLE audit.schema_migration IS 'One row per migration file applied to this warehouse: each versioned file (include/sql/migrations/V<nnn>__<name>.sql) once, each repeatable view file (include/sql/marts/R__<name>.sql) with version 0 and the checksum it was last applied with. A versioned file whose sha256 no longer matches its row is refused.';
COMMENT ON COLUMN audit.schema_migration.version IS 'Migration version (8 for V008__...); 0 for a repeatable view file.';
COMMENT ON COLUMN audit.schema_migration.name IS 'Migration name: the part of the file name after V<nnn>__ or R__, without suffixes.';
COMMENT ON COLUMN audit.schema_migration.file_name IS 'File applied, with its .duckdb / .postgresql suffix when the dialect needed its own variant.';
COMMENT ON COLUMN audit.schema_migration.checksum IS 'sha256 of the file as applied (64 hex digits).';
COMMENT ON COLUMN audit.schema_migration.applied_at IS 'When the file was (last) applied (UTC).';

-- core.dim_indicator --------------------------------------------------------------------------------
COMMENT ON TABLE core.dim_indicator IS 'One row per Fingertips indicator the platform tracks: its published metadata as of the latest nightly metadata sync. Tracked means listed in a configured indicator set (config/indicator_sets).';
COMMENT ON COLUMN core.dim_indicator.indicator_id IS 'Fingertips indicator id (key), e.g. 20401 (under 18s conceptions).';
COMMENT ON COLUMN core.dim_indicator.phof_code IS 'Public Health Outcomes Framework numbering (e.g. 2.04, C02a) where the indicator is in PHOF; NULL otherwise.';
COMMENT ON COLUMN core.dim_indicator.name IS 'Indicator name as Fingertips publishes it.';
COMMENT ON COLUMN core.dim_indicator.definition IS 'Definition as Fingertips publishes it (what is counted, over what population); NULL when none is given.';
COMMENT ON COLUMN core.dim_indicator.unit IS 'Unit of the values as published: %, per 1,000, per 100,000, Years, ...';
COMMENT ON COLUMN core.dim_indicator.value_type IS 'Value type as published, e.g. Proportion, Crude rate, Directly standardised rate, Life expectancy.';
COMMENT ON COLUMN core.dim_indicator.polarity IS 'Polarity as Fingertips labels it, e.g. RAG - Low is good, RAG - High is good, BOB - Blue orange blue; polarity_code is the normalised form.';
COMMENT ON COLUMN core.dim_indicator.polarity_code IS 'high_is_good, low_is_good or neither: decides improving/worsening and better/worse. NULL when Fingertips gives no polarity.';
COMMENT ON COLUMN core.dim_indicator.source IS 'Data source as published (the organisation and collection behind the figures); NULL when none is given.';
COMMENT ON COLUMN core.dim_indicator.last_data_upload IS 'When Fingertips last uploaded data for the indicator, as of the latest metadata sync (UTC); NULL when not published.';
COMMENT ON COLUMN core.dim_indicator.loaded_data_upload IS 'The Fingertips upload the values in core.fact_indicator_value come from (UTC): older than last_data_upload means a refresh is due; NULL means never loaded.';
COMMENT ON COLUMN core.dim_indicator.indicator_sets IS 'Comma-separated names of the configured indicator sets (config/indicator_sets) that include the indicator, e.g. phof,performance_report_services.';
COMMENT ON COLUMN core.dim_indicator.updated_at IS 'When the row last changed (UTC).';

-- core.dim_area ---------------------------------------------------------------------------------------
COMMENT ON TABLE core.dim_area IS 'One row per area values are loaded for: England, the regions and every upper-tier local authority (county or unitary), with its parent area, as Fingertips lists them.';
COMMENT ON COLUMN core.dim_area.area_code IS 'ONS area code (key): E92000001 England, E12... regions, E06/E08/E09/E10... authorities, e.g. E10000018 Leicestershire.';
COMMENT ON COLUMN core.dim_area.area_name IS 'Area name as Fingertips publishes it, e.g. Leicestershire, East Midlands region (statistical).';
COMMENT ON COLUMN core.dim_area.short_name IS 'Short name as published, e.g. East Midlands; NULL when none is given.';
COMMENT ON COLUMN core.dim_area.area_type_id IS 'Fingertips area type id: 15 England, 6 region, 502 upper-tier local authorities (counties and unitary authorities, April 2023 boundaries).';
COMMENT ON COLUMN core.dim_area.area_type IS 'Fingertips area type name, e.g. England, Regions (statistical), Upper tier local authorities (4/23).';
COMMENT ON COLUMN core.dim_area.parent_area_code IS 'Parent area: the region of an upper-tier authority, England for a region; NULL for England.';
COMMENT ON COLUMN core.dim_area.updated_at IS 'When the row last changed (UTC).';

-- core.area_comparator ------------------------------------------------------------------------------
COMMENT ON TABLE core.area_comparator IS 'One row per area and comparator area: England for every region and authority, the region of every authority, and the CIPFA nearest neighbours of each focus area (settings areas.focus: Leicestershire, Leicester, Rutland) in rank order. Each metadata sync replaces an area''s comparators of a kind whole.';
COMMENT ON COLUMN core.area_comparator.area_code IS 'The area being compared (core.dim_area).';
COMMENT ON COLUMN core.area_comparator.comparator_code IS 'The area it is compared with (core.dim_area): England, its region, or one of its nearest neighbours.';
COMMENT ON COLUMN core.area_comparator.kind IS 'england, region or nearest_neighbour (CIPFA nearest neighbours, Fingertips nearest neighbour type 1).';
COMMENT ON COLUMN core.area_comparator.rank IS '1 for England and the region; 1..n the nearest neighbour''s rank, 1 the most similar.';
COMMENT ON COLUMN core.area_comparator.source IS 'Where the comparator came from: the Fingertips call or nearest neighbour type, as text.';

-- core.dim_period -------------------------------------------------------------------------------------
COMMENT ON TABLE core.dim_period IS 'One row per period label any fact uses: Fingertips time periods exactly as published, and the financial-year quarters and years of KPI figures, with the dates each covers and a chronological sort key.';
COMMENT ON COLUMN core.dim_period.period_label IS 'The label (key) as published or used: 2017 (calendar year), 2017/18 or 2017-18 (financial year), 2015 - 17 (rolling years), 2017/18 Q2 or 2017-18-Q2 (financial-year quarter), ...';
COMMENT ON COLUMN core.dim_period.sort_key IS 'Chronological order: the end date as yyyymmdd (20170930 for 2017-18-Q2). Periods ending on the same day share a key.';
COMMENT ON COLUMN core.dim_period.start_date IS 'First day the period covers.';
COMMENT ON COLUMN core.dim_period.end_date IS 'Last day the period covers (inclusive).';
COMMENT ON COLUMN core.dim_period.granularity IS 'quarter, month, financial_year (April to March), calendar_year, academic_year, rolling_years, rolling_financial_years or other.';
COMMENT ON COLUMN core.dim_period.years IS 'Years a year-long or rolling period spans (1 for 2017, 3 for 2015 - 17); NULL for quarters, months and other periods.';

-- core.fact_indicator_value -------------------------------------------------------------------------
COMMENT ON TABLE core.fact_indicator_value IS 'One row per indicator x area x sex x age x category type x category x period: the value Fingertips publishes now, with its confidence limits, count, denominator, notes and Fingertips'' own comparisons. Superseded versions are in core.fact_indicator_value_history.';
COMMENT ON COLUMN core.fact_indicator_value.indicator_id IS 'Fingertips indicator id (core.dim_indicator).';
COMMENT ON COLUMN core.fact_indicator_value.area_code IS 'ONS code of the area (core.dim_area).';
COMMENT ON COLUMN core.fact_indicator_value.sex IS 'Sex as published: Persons, Male or Female.';
COMMENT ON COLUMN core.fact_indicator_value.age IS 'Age band as published, e.g. All ages, <18 yrs, 65+ yrs.';
COMMENT ON COLUMN core.fact_indicator_value.category_type IS 'Inequality breakdown type, e.g. County & UA deprivation deciles in England (IMD2019, 4/23 geography); empty string for the whole population (never NULL).';
COMMENT ON COLUMN core.fact_indicator_value.category IS 'Category within category_type, e.g. Most deprived decile (IMD2019); empty string for the whole population (never NULL).';
COMMENT ON COLUMN core.fact_indicator_value.period_label IS 'Time period as published (core.dim_period), e.g. 2017, 2017/18, 2015 - 17.';
COMMENT ON COLUMN core.fact_indicator_value.value IS 'The value, in the indicator''s unit (core.dim_indicator.unit: a percentage as 0-100, a rate per 1,000 or per 100,000, years, ...). NULL when not published, usually suppressed for small numbers: value_note says why.';
COMMENT ON COLUMN core.fact_indicator_value.lower_ci_95 IS 'Lower limit of the 95% confidence interval, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value.upper_ci_95 IS 'Upper limit of the 95% confidence interval, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value.lower_ci_99_8 IS 'Lower limit of the 99.8% confidence interval, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value.upper_ci_99_8 IS 'Upper limit of the 99.8% confidence interval, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value.count IS 'Numerator: the events or people counted (e.g. conceptions); NULL when not published or suppressed.';
COMMENT ON COLUMN core.fact_indicator_value.denominator IS 'Denominator: the population or total the value is calculated over; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value.value_note IS 'Fingertips value note, e.g. Value suppressed for disclosure control due to small count, or a data quality caveat; NULL when none.';
COMMENT ON COLUMN core.fact_indicator_value.recent_trend IS 'Fingertips recent trend of the area''s latest points, e.g. Increasing and getting worse, Decreasing and getting better, No significant change, Cannot be calculated; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value.compared_to_england IS 'Fingertips comparison of the value with England''s by their confidence intervals: Better, Similar or Worse (indicators with a polarity), Higher, Similar or Lower (without), Not compared (England''s own rows, or no interval to compare); NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value.compared_to_parent IS 'Fingertips comparison with the parent area (the region for an upper-tier authority), in the same terms as compared_to_england; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value.compared_to_parent_label IS 'The parent area type named in Fingertips'' comparison column (e.g. Region); NULL when the parent is England.';
COMMENT ON COLUMN core.fact_indicator_value.compared_to_goal IS 'Fingertips comparison of the value with the indicator''s goal (benchmark), where the indicator has one; NULL otherwise.';
COMMENT ON COLUMN core.fact_indicator_value.time_period_sortable IS 'Fingertips'' sortable period number (e.g. 20170000 for 2017); NULL when not published. To order periods across indicators use core.dim_period.sort_key.';
COMMENT ON COLUMN core.fact_indicator_value.batch_id IS 'The audit.load_batch that last inserted or changed the row.';

-- core.fact_indicator_value_history -----------------------------------------------------------------
COMMENT ON TABLE core.fact_indicator_value_history IS 'One row per superseded version of a core.fact_indicator_value row: when Fingertips revises a published row, the version held until then is copied here first, with the batch that had written it and the batch that replaced it. Nothing is overwritten without a trace.';
COMMENT ON COLUMN core.fact_indicator_value_history.history_id IS 'Row id (sequence core.fact_indicator_value_history_id_seq), increasing in the order versions were superseded.';
COMMENT ON COLUMN core.fact_indicator_value_history.indicator_id IS 'Fingertips indicator id (core.dim_indicator).';
COMMENT ON COLUMN core.fact_indicator_value_history.area_code IS 'ONS code of the area (core.dim_area).';
COMMENT ON COLUMN core.fact_indicator_value_history.sex IS 'Sex as published: Persons, Male or Female.';
COMMENT ON COLUMN core.fact_indicator_value_history.age IS 'Age band as published, e.g. All ages, <18 yrs.';
COMMENT ON COLUMN core.fact_indicator_value_history.category_type IS 'Inequality breakdown type; empty string for the whole population (never NULL).';
COMMENT ON COLUMN core.fact_indicator_value_history.category IS 'Category within category_type; empty string for the whole population (never NULL).';
COMMENT ON COLUMN core.fact_indicator_value_history.period_label IS 'Time period as published (core.dim_period).';
COMMENT ON COLUMN core.fact_indicator_value_history.value IS 'The value this version held, in the indicator''s unit; NULL when it was not published (suppressed).';
COMMENT ON COLUMN core.fact_indicator_value_history.lower_ci_95 IS 'Lower 95% confidence limit this version held; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.upper_ci_95 IS 'Upper 95% confidence limit this version held; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.lower_ci_99_8 IS 'Lower 99.8% confidence limit this version held; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.upper_ci_99_8 IS 'Upper 99.8% confidence limit this version held; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.count IS 'Numerator count this version held; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.denominator IS 'Denominator this version held; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.value_note IS 'Fingertips value note this version had; NULL when none.';
COMMENT ON COLUMN core.fact_indicator_value_history.recent_trend IS 'Fingertips recent trend label this version had; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.compared_to_england IS 'Fingertips comparison with England this version had (Better, Similar, Worse, Higher, Lower, Not compared); NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.compared_to_parent IS 'Fingertips comparison with the parent area this version had; NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.compared_to_parent_label IS 'The parent area type of that comparison (e.g. Region); NULL when the parent is England.';
COMMENT ON COLUMN core.fact_indicator_value_history.compared_to_goal IS 'Fingertips comparison with the indicator''s goal this version had; NULL when the indicator has no goal.';
COMMENT ON COLUMN core.fact_indicator_value_history.time_period_sortable IS 'Fingertips'' sortable period number (e.g. 20170000); NULL when not published.';
COMMENT ON COLUMN core.fact_indicator_value_history.batch_id IS 'The audit.load_batch that had written this version.';
COMMENT ON COLUMN core.fact_indicator_value_history.superseded_by_batch_id IS 'The audit.load_batch whose load replaced this version (its row in core.fact_indicator_value now carries this batch_id, unless revised again since).';

-- core.dim_provider ---------------------------------------------------------------------------------
COMMENT ON TABLE core.dim_provider IS 'One row per provider: an organisation commissioned to deliver a service (NHS trusts, charities, GP practices, pharmacies), from config/services.';
COMMENT ON COLUMN core.dim_provider.provider_code IS 'Short code (key) derived from the provider name: lower case, words joined by underscores, e.g. leicestershire_partnership_trust.';
COMMENT ON COLUMN core.dim_provider.provider_name IS 'Provider name as configured and printed in the performance report.';
COMMENT ON COLUMN core.dim_provider.updated_at IS 'When the row last changed (UTC).';

-- core.dim_service ----------------------------------------------------------------------------------
COMMENT ON TABLE core.dim_service IS 'One row per commissioned service: each public health service configured in config/services, one per page of the performance report, plus returns with no page (the BCF local NHS activity return).';
COMMENT ON COLUMN core.dim_service.service_code IS 'Service code (key): the config file''s name, e.g. healthy_together; return files name it in their file name and cover sheet.';
COMMENT ON COLUMN core.dim_service.service_name IS 'Service name as the report prints it.';
COMMENT ON COLUMN core.dim_service.provider_code IS 'Provider delivering the service (core.dim_provider); NULL when none is configured (a redacted service).';
COMMENT ON COLUMN core.dim_service.purpose IS 'What the service is for, as the report describes it; NULL when not given.';
COMMENT ON COLUMN core.dim_service.redacted IS 'True for a service the published report redacts: it is listed, never reported on, and owes no returns.';
COMMENT ON COLUMN core.dim_service.return_due_days IS 'Days after the end of a quarter the provider''s return is due (core.return_expected.due_date).';
COMMENT ON COLUMN core.dim_service.phof_indicator_ids IS 'Comma-separated Fingertips ids of the PHOF indicators shown on the service''s page; NULL when none.';
COMMENT ON COLUMN core.dim_service.updated_at IS 'When the row last changed (UTC).';

-- core.dim_kpi ----------------------------------------------------------------------------------------
COMMENT ON TABLE core.dim_kpi IS 'One row per service KPI: as configured in config/services, what is measured, its unit, polarity, target kind and reporting frequency, and for a percentage the KPIs holding its numerator and denominator.';
COMMENT ON COLUMN core.dim_kpi.service_code IS 'Service the KPI belongs to (core.dim_service); with kpi_code, the key.';
COMMENT ON COLUMN core.dim_kpi.kpi_code IS 'KPI code within the service, e.g. ht_antenatal_visits: what return files and history files name.';
COMMENT ON COLUMN core.dim_kpi.kpi_name IS 'KPI name as the report writes it.';
COMMENT ON COLUMN core.dim_kpi.section IS 'Heading the KPI sits under in the report''s table; NULL when none.';
COMMENT ON COLUMN core.dim_kpi.unit IS 'count, percent (figures 0-100), rate, score, currency (pounds) or days.';
COMMENT ON COLUMN core.dim_kpi.polarity IS 'high_is_good, low_is_good or neither: whether a higher actual is better.';
COMMENT ON COLUMN core.dim_kpi.target_kind IS 'none, per_quarter, cumulative (within the financial year: year-to-date actual against year-to-date target), running (a multi-year running total against its own target to date), annual (assessed in Q4) or half_yearly (assessed in Q2 and Q4).';
COMMENT ON COLUMN core.dim_kpi.frequency IS 'How often the KPI is reported: quarterly, half_yearly or annual.';
COMMENT ON COLUMN core.dim_kpi.is_cumulative IS 'True when the target and actual to date accumulate over the financial year (target kind cumulative); false otherwise, a running total over several years included.';
COMMENT ON COLUMN core.dim_kpi.numerator_kpi IS 'For a percentage: the kpi_code of the same service holding its numerator count; NULL otherwise.';
COMMENT ON COLUMN core.dim_kpi.denominator_kpi IS 'For a percentage: the kpi_code of the same service holding its denominator count; NULL otherwise.';
COMMENT ON COLUMN core.dim_kpi.decimals IS 'Decimal places the report shows the KPI''s figures with (0 for whole numbers).';
COMMENT ON COLUMN core.dim_kpi.information_only IS 'True for a KPI shown for information only: never assessed against a target, never part of the rating.';
COMMENT ON COLUMN core.dim_kpi.sort_order IS 'Position of the KPI in the service''s table, from 0.';
COMMENT ON COLUMN core.dim_kpi.updated_at IS 'When the row last changed (UTC).';

-- core.fact_kpi_value -------------------------------------------------------------------------------
COMMENT ON TABLE core.fact_kpi_value IS 'One row per service KPI x period x measure: a figure from a provider return or a KPI history import, as the provider typed it and as read. A figure with no value carries the reason instead, never 0. Superseded figures are in core.fact_kpi_value_history.';
COMMENT ON COLUMN core.fact_kpi_value.service_code IS 'Service (core.dim_service).';
COMMENT ON COLUMN core.fact_kpi_value.kpi_code IS 'KPI within the service (core.dim_kpi).';
COMMENT ON COLUMN core.fact_kpi_value.period_label IS 'Financial-year quarter, e.g. 2017-18-Q2 (July to September 2017), or a whole financial year, e.g. 2015-16, for year figures from a KPI history import (core.dim_period).';
COMMENT ON COLUMN core.fact_kpi_value.measure IS 'target, actual, actual_to_date (the financial year to date; for a running KPI the running total), or numerator / denominator (the parts of a percentage, when a return gives them).';
COMMENT ON COLUMN core.fact_kpi_value.value IS 'The figure in the KPI''s unit (percentages as 0-100); NULL when missing, with missing_reason.';
COMMENT ON COLUMN core.fact_kpi_value.missing_reason IS 'Why there is no figure: blank (empty cell), dash, not_applicable (n/a), tbc, not_yet_available, redacted, pending or not_recorded; NULL when there is a value. A missing figure is never stored as 0.';
COMMENT ON COLUMN core.fact_kpi_value.source_file IS 'The file the figure came from: its path below the shared drive for a provider return, the file name for a KPI history import.';
COMMENT ON COLUMN core.fact_kpi_value.source_cell IS 'Where in that file: sheet and cell (e.g. KPIs!F22) of a workbook, or line N of a CSV or history file.';
COMMENT ON COLUMN core.fact_kpi_value.raw_value IS 'The cell as typed, before it was read as a number (e.g. 90%, 1,081, Not yet available); empty for a blank cell.';
COMMENT ON COLUMN core.fact_kpi_value.batch_id IS 'The audit.load_batch that last inserted or changed the figure (for a return, also core.return_received.batch_id).';
COMMENT ON COLUMN core.fact_kpi_value.note IS 'Free-text note on the figure from a KPI history import (the note column of the history file, e.g. the report line it is printed on); NULL for figures from provider returns and history rows without a note.';

-- core.fact_kpi_value_history -----------------------------------------------------------------------
COMMENT ON TABLE core.fact_kpi_value_history IS 'One row per superseded KPI figure: when a later return or import changes a figure (its value, missing reason, source or note), the version held until then is copied here first, with the batch that had written it and the batch that replaced it.';
COMMENT ON COLUMN core.fact_kpi_value_history.history_id IS 'Row id (sequence core.fact_kpi_value_history_id_seq), increasing in the order figures were superseded.';
COMMENT ON COLUMN core.fact_kpi_value_history.service_code IS 'Service (core.dim_service).';
COMMENT ON COLUMN core.fact_kpi_value_history.kpi_code IS 'KPI within the service (core.dim_kpi).';
COMMENT ON COLUMN core.fact_kpi_value_history.period_label IS 'Financial-year quarter (e.g. 2017-18-Q2) or financial year (e.g. 2015-16) of the figure.';
COMMENT ON COLUMN core.fact_kpi_value_history.measure IS 'target, actual, actual_to_date, numerator or denominator.';
COMMENT ON COLUMN core.fact_kpi_value_history.value IS 'The figure this version held (percentages as 0-100); NULL when it was missing, with missing_reason.';
COMMENT ON COLUMN core.fact_kpi_value_history.missing_reason IS 'Why this version had no figure (blank, dash, not_applicable, tbc, not_yet_available, redacted, pending, not_recorded); NULL when it had a value.';
COMMENT ON COLUMN core.fact_kpi_value_history.source_file IS 'The file this version came from (shared-drive path, or history file name).';
COMMENT ON COLUMN core.fact_kpi_value_history.source_cell IS 'Sheet and cell, or line, this version was read from.';
COMMENT ON COLUMN core.fact_kpi_value_history.raw_value IS 'The cell as typed for this version.';
COMMENT ON COLUMN core.fact_kpi_value_history.batch_id IS 'The audit.load_batch that had written this version.';
COMMENT ON COLUMN core.fact_kpi_value_history.superseded_by_batch_id IS 'The audit.load_batch (return or import) that replaced this version.';
COMMENT ON COLUMN core.fact_kpi_value_history.note IS 'The superseded figure''s note from a KPI history import (NULL when it had none or came from a provider return).';

-- core.fact_service_comment / core.fact_service_action ------------------------------------------------
COMMENT ON TABLE core.fact_service_comment IS 'One row per comment on performance in a service''s latest loaded return for a quarter: the comment, its lead and date, in the order the return gives them. A later return for the quarter replaces them whole.';
COMMENT ON COLUMN core.fact_service_comment.service_code IS 'Service (core.dim_service).';
COMMENT ON COLUMN core.fact_service_comment.period_label IS 'Financial-year quarter of the return, e.g. 2017-18-Q2.';
COMMENT ON COLUMN core.fact_service_comment.seq IS 'Position of the comment in the return, from 1.';
COMMENT ON COLUMN core.fact_service_comment.comment IS 'The comment as written.';
COMMENT ON COLUMN core.fact_service_comment.lead IS 'Who leads on it, as written (initials or a role); NULL when not given.';
COMMENT ON COLUMN core.fact_service_comment.comment_date IS 'Date given with the comment; NULL when none or not a date (free text is kept in the comment).';
COMMENT ON COLUMN core.fact_service_comment.batch_id IS 'The audit.load_batch of the return it came from.';
COMMENT ON TABLE core.fact_service_action IS 'One row per key action in a service''s latest loaded return for a quarter: the action and its action-by date, in the order the return gives them. A later return for the quarter replaces them whole.';
COMMENT ON COLUMN core.fact_service_action.service_code IS 'Service (core.dim_service).';
COMMENT ON COLUMN core.fact_service_action.period_label IS 'Financial-year quarter of the return, e.g. 2017-18-Q2.';
COMMENT ON COLUMN core.fact_service_action.seq IS 'Position of the action in the return, from 1.';
COMMENT ON COLUMN core.fact_service_action.action IS 'The action as written (an action-by given as text, e.g. Autumn 2017, is kept here).';
COMMENT ON COLUMN core.fact_service_action.action_by IS 'Date the action is due by; NULL when none or not a date.';
COMMENT ON COLUMN core.fact_service_action.batch_id IS 'The audit.load_batch of the return it came from.';

-- core.return_expected / core.return_received -------------------------------------------------------
COMMENT ON TABLE core.return_expected IS 'One row per service and financial-year quarter a return is owed for: its due date. Returns are owed from returns.track_from up to the last quarter that has ended (or returns.track_until); redacted services owe none.';
COMMENT ON COLUMN core.return_expected.service_code IS 'Service that owes the return (core.dim_service).';
COMMENT ON COLUMN core.return_expected.period_label IS 'Financial-year quarter the return is for, e.g. 2017-18-Q2.';
COMMENT ON COLUMN core.return_expected.quarter_end IS 'Last day of the quarter.';
COMMENT ON COLUMN core.return_expected.due_date IS 'quarter_end plus the service''s return_due_days: after it, a return not received is missing and one received is late.';
COMMENT ON TABLE core.return_received IS 'One row per file taken from the shared drive: the service and quarter it is for and what became of it. A file is taken again only when its modification time changes.';
COMMENT ON COLUMN core.return_received.batch_id IS 'The audit.load_batch of taking the file (key); the figures it loaded carry it.';
COMMENT ON COLUMN core.return_received.service_code IS 'Service the file is for, from its cover sheet (or its name when unreadable); NULL when it could not be told.';
COMMENT ON COLUMN core.return_received.period_label IS 'Financial-year quarter the file is for, e.g. 2017-18-Q2; NULL when it could not be told.';
COMMENT ON COLUMN core.return_received.file_path IS 'Path below the shared drive (the share is never modified; the copy taken is in landing_path).';
COMMENT ON COLUMN core.return_received.file_modified_at IS 'Modification time of the file on the shared drive (UTC): when the provider delivered it; compared with the due date.';
COMMENT ON COLUMN core.return_received.sha256 IS 'sha256 of the file''s bytes: the same bytes again are recorded unchanged.';
COMMENT ON COLUMN core.return_received.landing_path IS 'Where the copy taken is kept, as received (data/landing/returns/<sha>/...).';
COMMENT ON COLUMN core.return_received.received_at IS 'When the pipeline took the file (UTC).';
COMMENT ON COLUMN core.return_received.status IS 'loaded, loaded_with_warnings (loaded; failed warning checks are shown beside its figures), quarantined (failed its checks or unreadable; nothing loaded), unchanged (same bytes as a return already taken), superseded (a later resubmission for the same service and quarter replaced it).';
COMMENT ON COLUMN core.return_received.is_resubmission IS 'True when it replaced figures an earlier return for the same service and quarter had loaded.';
COMMENT ON COLUMN core.return_received.error_count IS 'Failed error checks (1 for an unreadable file): more than 0 means quarantined.';
COMMENT ON COLUMN core.return_received.warning_count IS 'Failed warning checks: the file loaded and the warnings are shown beside its figures.';
COMMENT ON COLUMN core.return_received.error_summary IS 'The errors (quarantined) or warnings (loaded_with_warnings) in a sentence, naming sheet and cell; NULL for a clean file.';
COMMENT ON COLUMN core.return_received.report_path IS 'The quarantine report (report.md, report.json beside it); NULL unless quarantined.';
