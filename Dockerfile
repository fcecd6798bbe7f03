# The Airflow image for the production-like stack (docker-compose.yaml): the official Airflow 3.3.2
# image plus exactly the dependency versions in requirements.lock, the same set CI tests.
FROM apache/airflow:3.3.2-python3.11

# WeasyPrint (PDF reports) needs Pango and HarfBuzz from the OS.
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
USER airflow

# The lock pins apache-airflow==3.3.2 too, so installing it leaves Airflow as the image has it.
COPY --chown=airflow:root requirements.lock /opt/airflow/requirements.lock
RUN pip install --no-cache-dir -r /opt/airflow/requirements.lock

# dags/, plugins/, include/ and config/ are mounted by docker-compose.yaml; plugins/ is on
# sys.path so DAGs import public_health.
ENV PYTHONPATH=/opt/airflow/plugins \
    PH_PROJECT_ROOT=/opt/airflow
