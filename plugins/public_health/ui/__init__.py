"""The "Public health data" page of the Airflow UI: where each source stands, read from the warehouse.

``page`` gathers the page's figures (queries in ``warehouse.status``) and renders them (``templates/``);
``app`` is the FastAPI app the Airflow plugin (``plugins/public_health_ui_plugin.py``) mounts behind
Airflow's own login. Nothing here imports Airflow: the plugin hands the app its login check.
"""
