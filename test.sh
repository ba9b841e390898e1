#!/usr/bin/env bash
# The README's test command: checks for the outside tools the tests drive, installs the missing
# ones (Debian packages), then runs the whole suite — every crate's tests, even when one fails.
#   xmllint  (libxml2-utils)  the contract XSDs, independently of our codec
#   openssl, curl             a non-Rust TLS stack against our certificates and servers
#   python3                   outside systems in other stacks (ssl + http.server) in seats
#   cc                        ring and the bundled SQLite compile C code
#   schemathesis  (PyPI)      fuzzes each admin API against docs/openapi/*.yaml
#   docker, docker-compose    the ecosystem's image (docker/build-image.sh) and its containers
#                             (tests/compose.rs, sim-testcontainers); the engine must be running
#   RabbitMQ                  the Beskedfordeler's tests (sim-bf) run against it as well as the
#                             embedded broker; they take it from SIM_TEST_AMQP_URL, which
#                             .ci/run sets after starting a private rabbitmq-server, and fail
#                             (saying so) without it
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need[@]}"
fi
if ! command -v schemathesis >/dev/null 2>&1; then
  echo "test.sh: installing schemathesis (pip)"
  python3 -m pip --version >/dev/null 2>&1 || {
    sudo_=""
    [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq python3-pip
  }
  python3 -m pip install --quiet --user schemathesis 2>/dev/null \
    || python3 -m pip install --quiet --user --break-system-packages schemathesis 2>/dev/null \
    || python3 -m pip install --quiet schemathesis
  export PATH="$(python3 -m site --user-base)/bin:$PATH"
  command -v schemathesis >/dev/null 2>&1 || { echo "test.sh: schemathesis is still not on PATH" >&2; exit 1; }
fi

if [ -z "${SIM_TEST_AMQP_URL:-}" ]; then
  echo "test.sh: SIM_TEST_AMQP_URL is not set: sim-bf's RabbitMQ runs will fail (.ci/run starts a broker and sets it)" >&2
fi
export SIM_TEST_AMQP_URL="${SIM_TEST_AMQP_URL:-}"
# The container tests (tests/compose.rs, sim-testcontainers/tests) run the image of this
# checkout, sim-ecosystem:local, made from the debug `sim` the tests build themselves (no
# release compile) and removed by name when this script ends, whatever the outcome.
cargo test --workspace --no-run
SIM_BIN=target/debug/sim docker/build-image.sh debug
trap 'docker image rm sim-ecosystem:local >/dev/null 2>&1 || true' EXIT
cargo test --workspace --no-fail-fast "$@"
