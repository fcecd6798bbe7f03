# The Airflow image for the production-like stack (docker-compose.yaml): the official Airflow 3.3.2
# image plus exactly the dependency versions in requirements.lock, the same set CI tests.
FROM apache/airflow:3.3.2-python3.11

# WeasyPrint (PDF reports) needs Pango and HarfBuzz from the OS.
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
# Every named volume docker-compose.yaml mounts must exist in the image, owned by the airflow user
# (uid 50000, group root, group-writable as the official image does, so AIRFLOW_UID=$(id -u) with
# group 0 can write too): Docker copies the image folder's owner to a new named volume, so a folder
# missing here becomes a root-owned volume that airflow-init cannot write (the passwords file).
RUN mkdir -p /opt/airflow/auth /opt/airflow/logs \
    && chown -R airflow:root /opt/airflow/auth /opt/airflow/logs \
    && chmod 0770 /opt/airflow/auth
USER airflow

# The lock pins apache-airflow==3.3.2 too, so installing it leaves Airflow as the image has it.
COPY --chown=airflow:root requirements.lock /opt/airflow/requirements.lock
RUN pip install --no-cache-dir -r /opt/airflow/requirements.lock

# dags/, plugins/, include/ and config/ are mounted by docker-compose.yaml; plugins/ is on
# sys.path so DAGs import public_health.
ENV PYTHONPATH=/opt/airflow/plugins \
    PH_PROJECT_ROOT=/opt/airflow
