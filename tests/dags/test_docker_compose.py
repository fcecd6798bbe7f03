"""docker-compose.yaml, the production-like stack, checked by reading it (Docker is not needed).

What is checked: the file parses; the Airflow 3 services and both databases exist; every
long-running service has a healthcheck; every host path it mounts exists in the checkout; every
${VAR} it uses is documented in .env.example; every environment variable the package reads is set
for the Airflow services (or deliberately left to its default); no password is written literally;
and the warehouse URL points at the warehouse database, not Airflow's.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"

AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
LONG_RUNNING = AIRFLOW_SERVICES | {"postgres", "warehouse-db"}
ONE_SHOT = {"airflow-init"}

# Environment variables the code reads that the stack deliberately leaves to the code's default.
# Each entry says why; add to it only with a reason.
DEFAULTED_ENV: dict[str, str] = {
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "only `python -m public_health.cli demo` sets a default, to keep its "
    "terminal readable; the stack keeps Airflow's own logging configuration",
    "AIRFLOW__API__PORT": "read only by `python -m public_health.cli up-info` (make up) to print the address; the "
    "stack's api-server listens on 8080 inside its container and publishes AIRFLOW_API_HOST_PORT",
}
# Host directories the stack mounts that are created at run time rather than committed.
RUNTIME_HOST_DIRS: dict[str, str] = {
    # none at present: output/ is committed empty (output/.gitkeep) so Docker never creates it as root
}

# ${VAR} is substituted by compose from .env; $${VAR} is an escaped, container-side reference.
_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}")
_ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\.setdefault|\benv\.get)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|(?:os\.environ|\benv)\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]"""
    r"""|["']([A-Z][A-Z0-9_]*)["']\s+in\s+(?:os\.environ|env)\b"""
)


@pytest.fixture(scope="module")
def compose() -> dict:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "docker-compose.yaml: no services"
    return data


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _documented_variables() -> dict[str, str]:
    documented = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if m:
            documented[m.group(1)] = m.group(2)
    return documented


def _compose_text_without_comments() -> str:
    return "\n".join(line.split(" #", 1)[0] for line in COMPOSE.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("#"))


def test_the_file_parses_and_has_the_stack(services: dict) -> None:
    assert LONG_RUNNING | ONE_SHOT <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["warehouse-db"]["image"].startswith("postgres:16")
    assert services["airflow-apiserver"]["command"] == "api-server"
    assert any("8080" in str(p) for p in services["airflow-apiserver"].get("ports", []))
    for name in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        assert services[name]["command"] == name.removeprefix("airflow-")


def test_airflow_is_3_3_2_built_from_the_lock_file(services: dict) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM apache/airflow:3\.3\.2-python3\.11\b", dockerfile, re.M)
    assert "requirements.lock" in dockerfile and (ROOT / "requirements.lock").exists()
    assert "apache-airflow==3.3.2" in (ROOT / "requirements.lock").read_text(encoding="utf-8")
    for name in AIRFLOW_SERVICES | ONE_SHOT:
        assert services[name]["build"]["dockerfile"] == "Dockerfile", name


def test_airflow_services_use_localexecutor_on_the_metadata_postgres(services: dict) -> None:
    for name in AIRFLOW_SERVICES | ONE_SHOT:
        env = _env(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false", name
        conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert conn.startswith("postgresql") and "@postgres:5432/" in conn, name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/"), name


def test_airflow_init_migrates_creates_the_admin_and_the_pool(services: dict) -> None:
    init = services["airflow-init"]
    script = init["command"] if isinstance(init["command"], str) else "\n".join(init["command"])
    assert "airflow db migrate" in script
    assert "AIRFLOW_ADMIN_USERNAME" in script and "AIRFLOW_ADMIN_PASSWORD" in script
    assert re.search(r"airflow pools set warehouse\b", script)
    assert init.get("restart") in ("no", None)
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_every_long_running_service_has_a_healthcheck(services: dict, name: str) -> None:
    check = services[name].get("healthcheck")
    assert check and check.get("test"), f"{name}: no healthcheck"
    test = check["test"] if isinstance(check["test"], str) else " ".join(check["test"])
    expected = {
        "postgres": "pg_isready",
        "warehouse-db": "pg_isready",
        "airflow-apiserver": "/api/v2/monitor/health",
        "airflow-scheduler": "--job-type SchedulerJob",
        "airflow-dag-processor": "--job-type DagProcessorJob",
        "airflow-triggerer": "--job-type TriggererJob",
    }[name]
    assert expected in test, f"{name}: healthcheck {test!r} does not use {expected!r}"


def test_airflow_services_wait_for_healthy_databases(services: dict) -> None:
    for name in AIRFLOW_SERVICES | ONE_SHOT:
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["warehouse-db"]["condition"] == "service_healthy", name


def test_the_project_folders_are_mounted_where_the_package_expects_them(services: dict) -> None:
    wanted = {f"./{d}:/opt/airflow/{d}" for d in ("dags", "plugins", "include", "config", "data", "output")}
    for name in AIRFLOW_SERVICES | ONE_SHOT:
        mounts = {str(v).removesuffix(":ro") for v in services[name].get("volumes", [])}
        assert wanted <= mounts, f"{name}: missing {sorted(wanted - mounts)}"
        assert _env(services[name])["PH_PROJECT_ROOT"] == "/opt/airflow", name


def test_every_host_path_mounted_exists_in_the_repo(services: dict) -> None:
    missing = []
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else str(volume).split(":", 1)[0]
            if not source.startswith((".", "/")):
                continue  # a named volume
            rel = Path(source).as_posix().removeprefix("./")
            if rel in RUNTIME_HOST_DIRS:
                continue
            if not (ROOT / rel).exists():
                missing.append(f"{name}: {source}")
    assert not missing, f"host paths mounted but not in the repo: {missing}"
    # The analyst role's init script is among them.
    assert (ROOT / "docker" / "warehouse-init" / "01-roles.sh").exists()


def test_every_variable_used_is_documented_in_env_example() -> None:
    used = set(_VAR.findall(_compose_text_without_comments()))
    documented = _documented_variables()
    assert used, "expected ${VAR} references in docker-compose.yaml"
    undocumented = sorted(used - set(documented))
    assert not undocumented, f".env.example does not document: {undocumented}"
    # Each documented variable has a comment above it (its block starts with '#').
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z_][A-Z0-9_]*=", line):
            j = i - 1
            while j >= 0 and re.match(r"^[A-Z_][A-Z0-9_]*=", lines[j]):
                j -= 1
            assert j >= 0 and lines[j].startswith("#"), f".env.example: {line.split('=')[0]} has no comment"


def test_env_example_holds_placeholders_not_secrets() -> None:
    for key, value in _documented_variables().items():
        if re.search(r"PASSWORD|SECRET|FERNET|KEY", key):
            assert value in ("", "change-me"), f".env.example: {key} must be a placeholder, got {value!r}"


def _variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for folder in ("plugins", "dags"):
        for path in (ROOT / folder).rglob("*.py"):
            for groups in _ENV_READ.findall(path.read_text(encoding="utf-8")):
                names.update(g for g in groups if g)
    return names


def test_the_scan_finds_the_variables_the_package_is_known_to_read() -> None:
    known = {"WAREHOUSE_URL", "FINGERTIPS_BASE_URL", "FINGERTIPS_OFFLINE", "PH_DATA_DIR", "PH_OUTPUT_DIR",
             "PH_PROJECT_ROOT", "PH_CONFIG_DIR"}
    assert known <= _variables_read_by_the_code()


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES | ONE_SHOT))
def test_every_variable_the_code_reads_is_set_or_deliberately_defaulted(services: dict, name: str) -> None:
    env = _env(services[name])
    unset = sorted(v for v in _variables_read_by_the_code() if v not in env and v not in DEFAULTED_ENV)
    assert not unset, (
        f"{name}: the code reads {unset} but docker-compose.yaml neither sets them nor lists them in "
        "DEFAULTED_ENV (tests/dags/test_docker_compose.py) with a reason"
    )


def test_no_literal_passwords_or_secrets(compose: dict) -> None:
    text = _compose_text_without_comments()
    offending = []
    for service_name, service in compose["services"].items():
        for key, value in _env(service).items():
            if re.search(r"PASSWORD|SECRET|FERNET|_KEY$", key) and not key.endswith("_FILE") and not re.fullmatch(r"\$\{[A-Za-z0-9_]+\}", value):
                offending.append(f"{service_name}: {key}={value}")
            # Credentials inside URLs must be ${...} references too.
            for user_pw in re.findall(r"://([^@/\s]+)@", value):
                if ":" in user_pw and not re.fullmatch(r"\$\{\w+\}:\$\{\w+\}", user_pw):
                    offending.append(f"{service_name}: {key} has literal credentials")
    assert not offending, offending
    assert not re.search(r"(?i)password\s*[:=]\s*['\"]?(?!\$\{)[A-Za-z0-9]", text.replace("PASSWORDS_FILE", ""))


def test_the_warehouse_url_points_at_warehouse_db_not_the_metadata_db(services: dict) -> None:
    warehouse = _env(services["warehouse-db"])
    metadata = _env(services["postgres"])
    assert warehouse["POSTGRES_DB"] != metadata["POSTGRES_DB"]
    documented = _documented_variables()
    assert documented["WAREHOUSE_DB_NAME"] != documented["AIRFLOW_DB_NAME"]
    for name in AIRFLOW_SERVICES | ONE_SHOT:
        url = _env(services[name])["WAREHOUSE_URL"]
        assert url.startswith("postgresql+psycopg://"), name
        assert "@warehouse-db:5432/" in url and "@postgres:" not in url, name
        assert url.endswith("/${WAREHOUSE_DB_NAME}"), name
        conn = _env(services[name]).get("AIRFLOW_CONN_WAREHOUSE", "")
        assert "@warehouse-db:5432/" in conn, name


def test_the_analyst_role_is_read_only_on_mart() -> None:
    sql = (ROOT / "docker" / "warehouse-init" / "sql" / "analyst_role.sql").read_text(encoding="utf-8")
    script = (ROOT / "docker" / "warehouse-init" / "01-roles.sh").read_text(encoding="utf-8")
    assert "analyst_role.sql" in script
    assert re.search(r"GRANT USAGE ON SCHEMA mart TO", sql)
    assert re.search(r"GRANT SELECT ON ALL TABLES IN SCHEMA mart TO", sql)
    assert re.search(r"ALTER DEFAULT PRIVILEGES FOR ROLE .* IN SCHEMA mart GRANT SELECT ON TABLES TO", sql)
    assert "default_transaction_read_only" in sql
    for forbidden in ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "CREATE ON SCHEMA mart"):
        assert not re.search(rf"GRANT [^;]*{forbidden}[^;]* TO :\"analyst\"", sql), forbidden


# The image and the stack agree ----------------------------------------------------------------------

DOCKERFILE = ROOT / "Dockerfile"
AIRFLOW_UID = 50000  # the official image's airflow user


def _dockerfile_prepared_dirs() -> tuple[set[str], set[str]]:
    """Folders the Dockerfile creates (mkdir -p) and chowns to airflow, as root, before `USER airflow`."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    created: set[str] = set()
    owned: set[str] = set()
    user = "airflow"
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("USER "):
            user = line.split()[1]
        if not line.startswith("RUN ") or user != "root":
            continue
        for command in re.split(r"&&|;", line.removeprefix("RUN ")):
            words = command.split()
            if words[:2] == ["mkdir", "-p"]:
                created.update(words[2:])
            if words[:1] == ["chown"]:
                args = [w for w in words[1:] if not w.startswith("-")]
                if args and args[0].split(":")[0] in ("airflow", str(AIRFLOW_UID)):
                    owned.update(args[1:])
    return created, owned


def test_every_named_volume_of_the_airflow_image_exists_in_it_owned_by_airflow(services: dict) -> None:
    """Issue 12: a named volume mounted where the image has no folder is created root-owned by Docker, so
    airflow-init (uid 50000) could not write the passwords file. Each named volume the Airflow services mount
    must be a folder the Dockerfile creates and chowns to airflow."""
    created, owned = _dockerfile_prepared_dirs()
    wrong = []
    for name in AIRFLOW_SERVICES | ONE_SHOT:
        assert services[name].get("image", "").startswith("public-health-airflow"), name
        for volume in services[name].get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if source.startswith((".", "/")):
                continue  # a bind mount: the host folder's owner applies (AIRFLOW_UID in .env.example)
            if target not in created or target not in owned:
                wrong.append(f"{name}: {source} -> {target} (created: {target in created}, owned: {target in owned})")
    assert not wrong, f"named volumes the Dockerfile does not prepare for uid {AIRFLOW_UID}: {wrong}"


def test_the_dockerfile_check_sees_a_missing_folder(tmp_path, monkeypatch) -> None:
    """The check above can fail: a Dockerfile without the mkdir would leave /opt/airflow/auth unprepared."""
    fake = tmp_path / "Dockerfile"
    fake.write_text("FROM apache/airflow:3.3.2-python3.11\nUSER root\nRUN apt-get update\nUSER airflow\n")
    monkeypatch.setattr(sys.modules[__name__], "DOCKERFILE", fake)
    created, owned = _dockerfile_prepared_dirs()
    assert "/opt/airflow/auth" not in created | owned


def _init_fragment(services: dict) -> str:
    command = services["airflow-init"]["command"][-1]
    start = command.index("# refuse-placeholders")
    end = command.index("# end refuse-placeholders")
    return command[start:end].replace("$$", "$")


@pytest.mark.parametrize("variable", ["AIRFLOW_ADMIN_PASSWORD", "AIRFLOW__CORE__FERNET_KEY", "WAREHOUSE_URL",
                                      "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
def test_airflow_init_refuses_env_example_placeholders(services: dict, variable: str) -> None:
    """No default admin password: .env.example's `change-me` values stop airflow-init, naming each."""
    import subprocess

    real = {"PATH": "/usr/bin:/bin", "AIRFLOW_ADMIN_PASSWORD": "Zq3-long-and-real", "AIRFLOW__CORE__FERNET_KEY": "k" * 44,
            "WAREHOUSE_URL": "postgresql+psycopg://loader:s3cret-x@warehouse-db:5432/warehouse",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://airflow:pw-real@postgres:5432/airflow"}
    fragment = _init_fragment(services)
    ok = subprocess.run(["bash", "-c", "set -euo pipefail\n" + fragment], env=real, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    placeholder = {**real, variable: real[variable].replace(real[variable].split("@")[0].split(":")[-1], "change-me")
                   if "@" in real[variable] else "change-me"}
    refused = subprocess.run(["bash", "-c", "set -euo pipefail\n" + fragment], env=placeholder, capture_output=True,
                             text=True)
    assert refused.returncode == 1
    assert variable in refused.stderr and "change-me" in refused.stderr


def test_the_admin_passwords_file_is_created_private(services: dict) -> None:
    command = services["airflow-init"]["command"][-1]
    assert "os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)" in command
    assert 'open(path, "w")' not in command
