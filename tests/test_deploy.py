"""The Kubernetes deployment (deploy/helm/values.yaml, deploy/k8s/) and the image (Dockerfile),
checked without a cluster, a container engine or any network but PyPI:

* every manifest in deploy/k8s validates against the Kubernetes API's schemas
  (kubernetes-validate, strict: an unknown or misspelt field is an error);
* the chart values name only ConfigMaps, Secrets and claims that deploy/k8s defines; every
  setting the hub needs in this profile comes from the ConfigMap or a Secret, and nothing
  secret is written in the values or the ConfigMap;
* the chart version, the Dagster images and the Dagster pinned in pyproject.toml agree, and
  the instance limits are dagster.yaml's;
* the Dockerfile installs from the lock, copies only what exists, and its install (the
  runtime dependencies only, no dev group, the code installed as a wheel) imports the code
  location with the ConfigMap's settings.

Not checked here: that the chart renders these values, and that the image builds (no
container engine or Docker Hub in CI).  docs/kubernetes.md says what was checked by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from pipelines import executors, settings
from tests.servers import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
VALUES = ROOT / "deploy" / "helm" / "values.yaml"
DOCKERFILE = ROOT / "Dockerfile"
NAMESPACE = "iom-hub"
SETTINGS_CONFIGMAP = "iom-hub-settings"
SETTINGS_SECRET = "iom-hub-secrets"
SFTP_SECRET = "iom-hub-sftp"

# Defaults that are right in any deployment (README, "Configuration"); every other entry of
# settings.DEFAULTS is a path under the data folder or the checkout, or the SQLite
# warehouse, and so must be set.
SAFE_DEFAULTS = {"IOM_SETTLE_SECONDS", "IOM_UMASK"}
# Optional settings (settings.OPTIONAL) this profile uses: the SFTP inbox and outbox, the
# ODBC feeds, the pseudonyms.  IOM_SFTP_KEY is the alternative to a key file and
# IOM_SFTP_KEY_PASSPHRASE is only for a key that has one.
PROFILE_OPTIONAL = {
    "IOM_OUTBOX", "IOM_SFTP_KEY_FILE", "IOM_SFTP_KNOWN_HOSTS", "IOM_COHORT_ODBC", "IOM_ARRESTS_ODBC", "IOM_PSEUDONYM_KEY",
}  # fmt: skip
# Settings that hold a password, key or token: only ever in a Secret.
SECRET_SETTINGS = {
    "IOM_WAREHOUSE_URL", "IOM_PSEUDONYM_KEY", "IOM_COHORT_ODBC", "IOM_ARRESTS_ODBC", "IOM_SFTP_KEY",
    "IOM_SFTP_KEY_PASSPHRASE", executors.BROKER, executors.BACKEND, "IOM_ALERT_SMTP_PASSWORD", "IOM_ALERT_WEBHOOK",
    "DAGSTER_PG_PASSWORD",
}  # fmt: skip
PLACEHOLDER = "REPLACE-ME"


# --------------------------------------------------------------------------- the files


def manifests() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return docs


def defined(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


def values() -> dict:
    return yaml.safe_load(VALUES.read_text(encoding="utf-8"))


def user_deployment() -> dict:
    (deployment,) = values()["dagster-user-deployments"]["deployments"]
    return deployment


def run_launcher() -> dict:
    return values()["runLauncher"]["config"]["k8sRunLauncher"]


def configmap_data() -> dict[str, str]:
    return defined("ConfigMap")[SETTINGS_CONFIGMAP]["data"]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pinned(package: str) -> str:
    for requirement in pyproject()["project"]["dependencies"]:
        if m := re.fullmatch(rf"{re.escape(package)}(?:\[[^]]*\])?==([\w.]+)", requirement):
            return m.group(1)
    raise AssertionError(f"{package} is not pinned with == in pyproject.toml")


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        current += " " + line.rstrip("\\").strip()
        if not line.endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def dockerfile_env() -> dict[str, str]:
    env = {}
    for instruction, args in dockerfile():
        if instruction == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return env


# --------------------------------------------------------------------------- (a) the manifests


def test_every_manifest_validates_against_the_kubernetes_schemas():
    version = kubernetes_validate.latest_version()
    docs = manifests()
    kinds = {doc["kind"] for _, doc in docs}
    assert {"Namespace", "ConfigMap", "Secret", "PersistentVolumeClaim"} <= kinds, f"deploy/k8s lacks a kind: {kinds}"
    for name, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(
                f"{name}: {doc['kind']}/{doc['metadata']['name']} is not valid Kubernetes {version}: {path}: {exc.message}"
            )
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{name}: {doc['kind']} is not in namespace {NAMESPACE}"


def test_the_schema_check_rejects_a_misspelt_field():
    # The check above is only worth something if strict validation refuses what the API
    # server would: a claim with "accessMode" for "accessModes".
    claim = yaml.safe_load((K8S / "pvc.yaml").read_text(encoding="utf-8"))
    claim["spec"]["accessMode"] = claim["spec"].pop("accessModes")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(claim, kubernetes_validate.latest_version(), strict=True)


# --------------------------------------------------------------------------- (b) the values


def references(spec: dict) -> dict[str, set[str]]:
    """The ConfigMaps, Secrets and claims a deployment's or the run launcher's values name."""
    refs: dict[str, set[str]] = {"ConfigMap": set(), "Secret": set(), "PersistentVolumeClaim": set()}
    refs["ConfigMap"] |= {item["name"] for item in spec.get("envConfigMaps") or []}
    refs["Secret"] |= {item["name"] for item in spec.get("envSecrets") or []}
    for volume in spec.get("volumes") or []:
        if "secret" in volume:
            refs["Secret"].add(volume["secret"]["secretName"])
        if "configMap" in volume:
            refs["ConfigMap"].add(volume["configMap"]["name"])
        if "persistentVolumeClaim" in volume:
            refs["PersistentVolumeClaim"].add(volume["persistentVolumeClaim"]["claimName"])
    return refs


def test_values_name_only_objects_that_deploy_k8s_defines():
    wanted = references(user_deployment())
    for kind, names in references(run_launcher()).items():
        wanted[kind] |= names
    wanted["Secret"].add(values()["global"]["postgresqlSecretName"])
    assert wanted["ConfigMap"] and wanted["Secret"] and wanted["PersistentVolumeClaim"], f"values.yaml names nothing: {wanted}"
    for kind, names in wanted.items():
        missing = names - set(defined(kind))
        assert not missing, f"values.yaml names {kind} {sorted(missing)}, not defined in deploy/k8s"
    claim = defined("PersistentVolumeClaim")["iom-hub-data"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], (
        "steps run in pods of their own: the data volume must be ReadWriteMany"
    )


def test_the_chart_reads_the_dagster_database_password_from_the_existing_secret():
    v = values()
    assert v["generatePostgresqlPasswordSecret"] is False, "the chart must not make the password Secret from a value"
    assert v["postgresql"]["enabled"] is False and v["postgresql"]["postgresqlHost"], "Dagster's database is an existing server"
    assert v["postgresql"]["postgresqlPassword"] == "", "the Dagster database password is written in values.yaml"
    secret = defined("Secret")[v["global"]["postgresqlSecretName"]]
    # The key every Dagster pod's DAGSTER_PG_PASSWORD is read from (the chart's templates).
    assert set(secret["stringData"]) == {"postgresql-password"}, (
        f"the chart reads the key postgresql-password: {secret['stringData']}"
    )
    # As deploy/dagster-postgres.yaml: psycopg2 is installed, psycopg 3 is not.
    assert v["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2", "Dagster's database scheme is not psycopg2"


def test_run_and_step_pods_get_the_code_servers_settings():
    deployment, launcher = user_deployment(), run_launcher()
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True, "runs must get the code server's settings"
    # dagster-k8s merges the run launcher's lists with the code server's and drops only
    # identical entries: two different volumes with one name would be refused.
    for key in ("envConfigMaps", "envSecrets", "volumes", "volumeMounts"):
        assert launcher[key] == deployment[key], f"runLauncher {key} differs from the user deployment's"
    pod = launcher["runK8sConfig"]["podSpecConfig"]["securityContext"]
    assert pod == deployment["podSecurityContext"], "run pods run as a different account from the code server"
    assert pod["runAsUser"] == 10001 and pod["fsGroup"] == 10001, "run pods do not run as the image's uid/gid 10001"


def test_every_setting_the_hub_needs_comes_from_the_configmap_or_a_secret():
    config = configmap_data()
    secret = defined("Secret")[SETTINGS_SECRET]["stringData"]
    required = (set(settings.DEFAULTS) - SAFE_DEFAULTS) | PROFILE_OPTIONAL | {executors.SETTING}
    assert required <= set(settings.DEFAULTS) | set(settings.OPTIONAL) | {executors.SETTING}, (
        "PROFILE_OPTIONAL names an unknown setting"
    )
    missing = required - set(config) - set(secret)
    assert not missing, f"the deployment does not set {sorted(missing)}"
    assert config[executors.SETTING] in executors.DISTRIBUTED, "the Kubernetes profile runs each step in its own pod"
    assert config[executors.SETTING] == "k8s", "IOM_EXECUTOR is not k8s"
    assert config["IOM_INBOX"].startswith("sftp://") and config["IOM_OUTBOX"].startswith("sftp://"), "inbox or outbox is not SFTP"
    # The paths the ConfigMap gives are where values.yaml mounts the volumes.
    mounts = {m["name"]: m["mountPath"] for m in user_deployment()["volumeMounts"]}
    data, sftp = mounts["iom-hub-data"], mounts[SFTP_SECRET]
    assert config["IOM_DATA_DIR"] == data, f"IOM_DATA_DIR is not the data volume's mount {data}"
    for name in ("IOM_REPORTS_DIR", "IOM_REVIEW_DIR", "IOM_QUALITY_DIR"):
        assert Path(config[name]).parent == Path(data), f"{name} is not on the shared volume {data}"
    keys = set(defined("Secret")[SFTP_SECRET]["stringData"])
    for name in ("IOM_SFTP_KEY_FILE", "IOM_SFTP_KNOWN_HOSTS"):
        path = Path(config[name])
        assert path.parent == Path(sftp) and path.name in keys, f"{name}={path} is not a file of the mounted Secret {SFTP_SECRET}"


def test_nothing_secret_is_written_in_the_values_or_the_configmap():
    config = configmap_data()
    assert not SECRET_SETTINGS & set(config), f"secret settings in the ConfigMap: {sorted(SECRET_SETTINGS & set(config))}"
    assert {"IOM_WAREHOUSE_URL", "IOM_PSEUDONYM_KEY", "IOM_COHORT_ODBC", "IOM_ARRESTS_ODBC"} <= set(
        defined("Secret")[SETTINGS_SECRET]["stringData"]
    ), "a secret setting of this profile is missing from the Secret"

    def leaves(node, where=""):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("name", "value") and isinstance(node.get("name"), str) and node["name"] in SECRET_SETTINGS:
                    assert "value" not in node, f"values.yaml sets {node['name']} literally at {where}"
                yield from leaves(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from leaves(value, f"{where}[{i}]")
        else:
            yield where, node

    credential = re.compile(r"://[^/\s:@]+:[^/\s@]+@|\bPwd=|PRIVATE KEY|\bpassword=", re.IGNORECASE)
    for source in (values(), config):
        for where, leaf in leaves(source):
            assert not (isinstance(leaf, str) and credential.search(leaf)), f"a credential is written at {where}"
    # The example Secrets carry placeholders only.
    for name, secret in defined("Secret").items():
        for key, value in secret["stringData"].items():
            assert value == PLACEHOLDER, f"secrets.example.yaml: {name}/{key} is not the placeholder {PLACEHOLDER}"


def test_the_user_deployment_serves_the_code_location():
    deployment = user_deployment()
    module = pyproject()["tool"]["dagster"]["module_name"]
    assert module == "pipelines.definitions", f"pyproject.toml names the module {module}"
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", module], f"the code server does not load {module}"
    assert deployment["port"] == 3030, "the code server is not on port 3030"
    assert values()["global"]["dagsterHome"] == dockerfile_env()["DAGSTER_HOME"], (
        "the chart and the image disagree on DAGSTER_HOME"
    )


def test_the_chart_and_dagster_images_are_the_pinned_dagster_version():
    dagster = pinned("dagster")
    assert pinned("dagster-webserver") == dagster, "dagster-webserver is not pinned to the dagster version"
    # The integration libraries are versioned 0.<minor + 16>.<patch> beside dagster 1.<minor>.<patch>.
    _, minor, patch = dagster.split(".")
    library = f"0.{int(minor) + 16}.{patch}"
    assert pinned("dagster-k8s") == library and pinned("dagster-postgres") == library, f"dagster-k8s/postgres are not {library}"
    v = values()
    for component in ("dagsterWebserver", "dagsterDaemon"):
        assert str(v[component]["image"]["tag"]) == dagster, (
            f"{component} runs Dagster {v[component]['image']['tag']}, not {dagster}"
        )
    # The chart version named wherever the chart is installed from.
    for path in (VALUES, ROOT / "docs" / "kubernetes.md"):
        named = re.findall(r"dagster/dagster\s+--version\s+(\S+)", path.read_text(encoding="utf-8").replace("\\\n", " "))
        assert named and set(named) == {dagster}, f"{path.name} names chart version(s) {named}, not {dagster}"


def test_the_instance_limits_are_dagster_yamls():
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    v = values()
    concurrency = v["concurrency"]
    assert concurrency["enabled"] is True, "the chart's concurrency section is off"
    runs = instance["concurrency"]["runs"]
    assert concurrency["runs"]["maxConcurrentRuns"] == runs["max_concurrent_runs"], "max concurrent runs differ from dagster.yaml"
    assert [{k: t[k] for k in ("key", "value", "limit")} for t in concurrency["runs"]["tagConcurrencyLimits"]] == [
        {"key": t["key"], "value": t["value"], "limit": t["limit"]} for t in runs["tag_concurrency_limits"]
    ], "the tag concurrency limits differ from dagster.yaml"
    assert concurrency["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"], "pool default differs"
    # Limits in both places are refused by Dagster; values that would make the chart write
    # any run coordinator config are left empty.
    queued = v["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert not any(queued.values()), f"the run coordinator's config is not empty: {queued}"
    assert v["dagsterDaemon"]["runCoordinator"]["type"] == instance["run_coordinator"]["class"], "run coordinator differs"
    monitoring = v["dagsterDaemon"]["runMonitoring"]
    assert monitoring["maxResumeRunAttempts"] == instance["run_monitoring"]["max_resume_run_attempts"], "run resumption differs"
    assert v["telemetry"]["enabled"] is False and instance["telemetry"]["enabled"] is False, "telemetry is on"


# --------------------------------------------------------------------------- (c) the image


def dockerignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return any(fnmatch(path.rstrip("/"), p) or fnmatch(path.split("/")[0], p) for p in patterns)


def test_the_dockerfile_installs_from_the_lock_and_copies_what_exists():
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim-bookworm"), f"the base image is {steps[0]}"
    assert re.search(r">=3\.11\b", pyproject()["project"]["requires-python"]), (
        "the image's Python 3.11 is outside requires-python"
    )
    syncs = [args for instruction, args in steps if instruction == "RUN" and "uv sync" in args]
    assert len(syncs) == 2, "expected a dependencies layer and a project layer"
    for args in syncs:
        assert {"--frozen", "--no-dev", "--no-editable"} <= set(args.split()), f"uv sync not from the lock alone: {args}"
    assert "--no-install-project" in syncs[0].split() and "--no-install-project" not in syncs[1].split(), (
        "the first uv sync must install the dependencies only, the second the project"
    )
    copies = [args.split() for instruction, args in steps if instruction == "COPY"]
    assert copies[0] == ["pyproject.toml", "uv.lock", "./"], "the dependencies layer must depend on the lock only"
    sources = [src for args in copies for src in args[:-1] if not src.startswith("--")]
    for src in sources:
        assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which does not exist"
        assert not dockerignored(src), f"the Dockerfile copies {src}, which .dockerignore leaves out of the build context"
    assert {"pipelines/", "warehouse/", "config/", "dagster.yaml", "workspace.yaml", "deploy/"} <= set(sources), (
        f"the image lacks a part of the project: {sources}"
    )
    assert ("USER", "10001:10001") in steps, "the image does not run as uid/gid 10001"
    env = dockerfile_env()
    assert env["UV_PYTHON_DOWNLOADS"] == "never", "uv may download a Python"
    assert env["IOM_CONFIG"] == configmap_data()["IOM_CONFIG"], "the image and the ConfigMap disagree on IOM_CONFIG"
    assert env["IOM_DATA_DIR"] == configmap_data()["IOM_DATA_DIR"], "the image and the ConfigMap disagree on IOM_DATA_DIR"
    workdir = [args for instruction, args in steps if instruction == "WORKDIR"][-1]
    assert env["IOM_CONFIG"] == f"{workdir}/config/hub.yaml", "IOM_CONFIG is not the config/ the image copies"
    cmd = [args for instruction, args in steps if instruction == "CMD"][-1]
    assert '"-m", "pipelines.definitions"' in cmd and '"-p", "3030"' in cmd, f"the default command is not the code server: {cmd}"


def test_the_images_install_imports_the_code_location(tmp_path):
    """The Dockerfile's two uv steps, run here: the runtime dependencies and the project as a
    wheel, then the code location imported with the ConfigMap's settings (paths moved into
    tmp_path) and IOM_EXECUTOR=k8s, so the image needs nothing from the dev group."""
    uv = shutil.which("uv")
    if uv is None:
        skip_or_fail("uv is not on PATH", "run scripts/setup.sh, which installs it")
    project = tmp_path / "opt-iom-hub"
    project.mkdir()
    base_python = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env |= {"UV_PROJECT_ENVIRONMENT": str(project / ".venv"), "UV_PYTHON_DOWNLOADS": "never", "UV_LINK_MODE": "copy"}

    def sync(*extra: str) -> None:
        command = [uv, "sync", "--frozen", "--no-dev", "--no-editable", *extra, "--python", str(base_python)]
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-3000:]}"

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, project / name)
    sync("--no-install-project")
    shutil.copy2(ROOT / "README.md", project / "README.md")
    for name in ("pipelines", "warehouse"):
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    sync()
    shutil.copytree(ROOT / "config", project / "config", ignore=ignore)

    python = project / ".venv" / "bin" / "python"
    data = tmp_path / "var-lib-iom-hub"
    moved = {
        name: value.replace("/var/lib/iom-hub", str(data)).replace("/opt/iom-hub", str(project))
        for name, value in configmap_data().items()
    }
    run_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster_home")} | moved
    # A PostgreSQL URL, as the Secret holds (nothing connects on import).
    run_env["IOM_WAREHOUSE_URL"] = "postgresql+psycopg2://iom:placeholder@127.0.0.1:9/iom"
    probe = (
        "import importlib.util, pathlib\n"
        "from pipelines import settings\n"
        "assert importlib.util.find_spec('pytest') is None, 'the dev group was installed'\n"
        "assert '/site-packages/' in settings.__file__, 'the project is not installed as a wheel'\n"
        # Installed, the code's own default config path points inside site-packages: why the
        # ConfigMap and the Dockerfile must set IOM_CONFIG.
        "print('default-config-exists', pathlib.Path(settings.PROJECT_ROOT, 'config', 'hub.yaml').exists())\n"
        "import pipelines.definitions as d\n"
        "print('executor', d.defs.executor.name)\n"
    )
    done = subprocess.run([str(python), "-c", probe], cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the installed image code does not import:\n{done.stderr[-3000:]}"
    assert "default-config-exists False" in done.stdout, f"expected the installed default IOM_CONFIG to be missing: {done.stdout}"
    assert "executor k8s" in done.stdout, f"IOM_EXECUTOR=k8s did not give the Kubernetes executor: {done.stdout}"
