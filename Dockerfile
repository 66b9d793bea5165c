# syntax=docker/dockerfile:1
#
# The IOM hub's image for the production profile on Kubernetes (docs/kubernetes.md).
# One image serves three roles, so every process runs exactly the same code and libraries:
#   * the code server (the Helm chart's user deployment "iom-hub", which runs
#     `dagster api grpc` with the chart's dagsterApiGrpcArgs),
#   * each run's pod (K8sRunLauncher: one Kubernetes Job per run),
#   * each step's pod (IOM_EXECUTOR=k8s: dagster-k8s's k8s_job_executor).
# The Dagster webserver and daemon use Dagster's own images at the same Dagster version
# (deploy/helm/values.yaml); they never import the hub's code.
#
# Build and push (from the repository root):
#     docker build -t REGISTRY/iom-hub:TAG .
#     docker push REGISTRY/iom-hub:TAG
# Use a new TAG for every build (e.g. the git commit): a run's step pods start from the
# image the run was launched with, and a reused tag could give them different code.

# Debian 12 (bookworm), the release the hub is developed and tested on (scripts/setup.sh,
# scripts/setup-system.sh), with the Python minor version the lock file was resolved for.
FROM python:3.11-slim-bookworm

# Runtime libraries only, no compilers: every Python dependency in uv.lock installs from a
# wheel.  They are the ones the hub loads at run time:
#   unixodbc, odbc-postgresql  pyodbc's driver manager (libodbc2) and the psqlODBC driver
#                              for IOM_COHORT_ODBC / IOM_ARRESTS_ODBC; its package script
#                              registers "PostgreSQL Unicode" in /etc/odbcinst.ini, the
#                              driver name the connection strings use (README)
#   libpango-1.0-0, libpangoft2-1.0-0, fonts-dejavu-core
#                              WeasyPrint's text layout and a font, for the PDF packs
# No SSH client: paramiko (SFTP) is pure Python.  No libpq: psycopg2-binary bundles it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        unixodbc odbc-postgresql libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# uv, from PyPI like every other package (the version scripts/setup.sh was last run with).
RUN pip install --no-cache-dir --disable-pip-version-check "uv==0.13.9"

# uv uses the image's Python and never downloads one; the project's environment is a
# fixed path so that PATH below finds its `dagster` and `iom-hub`.  Bytecode is compiled
# at build time because every step pod imports the whole pipeline when it starts.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/iom-hub/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

WORKDIR /opt/iom-hub

# Dependencies first, exactly as locked (--frozen: uv.lock is used as it is and never
# re-resolved; the build fails if it does not match pyproject.toml), without the dev group
# (tests, linters).  This layer changes only when the lock does, so a code change rebuilds
# in seconds.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-editable --no-install-project

# Then the project itself, installed as a wheel into the environment (--no-editable): the
# running code is the installed copy, not these folders.  README.md is the package's
# readme (pyproject.toml), needed to build it.
COPY README.md ./
COPY pipelines/ pipelines/
COPY warehouse/ warehouse/
RUN uv sync --frozen --no-dev --no-editable

# What the installed package does not carry: the hub configuration (IOM_CONFIG points here;
# the default would look inside site-packages, as the code is installed, not editable),
# the instance settings and workspace for running Dagster by hand, and the deployment files.
COPY config/ config/
COPY dagster.yaml workspace.yaml ./
COPY deploy/ deploy/

# A fixed non-root account: uid/gid 10001 is what deploy/helm/values.yaml's securityContext
# runs as (runAsUser, fsGroup), so files on the shared volume keep one owner.
RUN groupadd --system --gid 10001 iomhub \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /opt/dagster/dagster_home \
        --shell /usr/sbin/nologin iomhub \
    && mkdir -p /opt/dagster/dagster_home /var/lib/iom-hub \
    && chown 10001:10001 /opt/dagster/dagster_home /var/lib/iom-hub

# DAGSTER_HOME is where the chart mounts the instance settings (dagster.yaml) in run pods;
# IOM_DATA_DIR is the base of the hub's data defaults, the shared volume's mount point.
ENV DAGSTER_HOME=/opt/dagster/dagster_home \
    IOM_DATA_DIR=/var/lib/iom-hub \
    IOM_CONFIG=/opt/iom-hub/config/hub.yaml \
    PATH=/opt/iom-hub/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1

USER 10001:10001

# The code server's port (the chart's user deployment port).
EXPOSE 3030

# Default: the gRPC code server, for `docker run` or a deployment without the chart.  The
# chart's user deployment does not use this: it runs `dagster api grpc -h 0.0.0.0 -p 3030`
# with dagsterApiGrpcArgs (--module-name pipelines.definitions), and run and step pods run
# their own `dagster api execute_run` / `execute_step` commands in this image.
CMD ["dagster", "code-server", "start", "-m", "pipelines.definitions", "--location-name", "iom_hub", "-h", "0.0.0.0", "-p", "3030"]
