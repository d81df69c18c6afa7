#!/usr/bin/env bash
# Lifeline local hub: one command to install, start, check and stop the hub
# that keeps a neighbourhood working when the internet or the cloud is down
# (DESIGN.md section 7).
#
#   ./deploy-local.sh                      start with Docker (Postgres + Ollama + hub)
#   ./deploy-local.sh --native             start without Docker (Node.js 20+)
#   ./deploy-local.sh [--native] --status  is it running, when did it last sync
#   ./deploy-local.sh [--native] --stop    stop it (your data is kept)
#
# Run ./deploy-local.sh --help for every option.
set -euo pipefail

if ((BASH_VERSINFO[0] < 4)); then
  printf 'Problem: this script needs bash 4 or newer (this is bash %s).\n  On a Mac: brew install bash, then run: /opt/homebrew/bin/bash ./deploy-local.sh\n' "$BASH_VERSION" >&2
  exit 4
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COMPOSE_FILE="$ROOT/docker-compose.local.yml"
DEFAULT_MODEL="llama3.2:1b"
READY_TIMEOUT="${LIFELINE_READY_TIMEOUT:-180}"
SYNC_TIMEOUT="${LIFELINE_SYNC_TIMEOUT:-120}"
STOP_TIMEOUT="${LIFELINE_STOP_TIMEOUT:-30}"
HTTP_TIMEOUT=10
# Any answer from here means "online" (for the model download).
ONLINE_CHECK_URL="${LIFELINE_ONLINE_CHECK_URL:-https://registry.ollama.ai/v2/}"

MODE="docker"
ACTION="up"
ENV_FILE="$ROOT/.env"
ARG_CLOUD_URL=""
ARG_HUB_KEY=""
ARG_PORT=""
ARG_DATA_DIR=""

# ---------------------------------------------------------------- messages

say() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }
warn() { printf 'Note: %s\n' "$*" >&2; }
# die CODE MESSAGE...: what went wrong and what to do next, then stop.
die() {
  local code=$1
  shift
  printf '\nProblem: %s\n' "$1" >&2
  shift
  local line
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit "$code"
}

usage() {
  cat <<EOF
Lifeline local hub

Usage: ./deploy-local.sh [options]

  (no option)          Start the hub with Docker: Postgres, Ollama and Lifeline.
  --native             Start the hub without Docker (needs Node.js 20 or newer).
  --status             Say whether the hub is running and when it last synced.
  --stop               Stop the hub. Nothing is deleted.
  --cloud-url URL      The Lifeline cloud this hub syncs with (saved in the settings file).
  --hub-key KEY        The hub key from the cloud (Admin, Devices, add a hub; saved too).
  --port N             The port volunteers use (default 3000; saved too).
  --env-file FILE      Settings file to read and write (default: .env next to this script).
  --data-dir DIR       Without Docker: where the hub keeps its data, pid and log (default ./data/hub).
  -h, --help           Show this help.

Environment variables with the same names as the settings (UPSTREAM_URL, HUB_API_KEY,
PORT, DATABASE_URL, DATA_DIR, ...) override the settings file for this run.
EOF
}

# ---------------------------------------------------------------- arguments

need_value() {
  [[ $# -ge 2 && -n $2 ]] || die 2 "The option $1 needs a value." "Example: ./deploy-local.sh $1 VALUE" "See ./deploy-local.sh --help"
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --native) MODE="native" ;;
    --docker) MODE="docker" ;;
    --stop) ACTION="stop" ;;
    --status) ACTION="status" ;;
    --cloud-url | --hub-key | --port | --env-file | --data-dir)
      need_value "$@"
      case $1 in
        --cloud-url) ARG_CLOUD_URL=$2 ;;
        --hub-key) ARG_HUB_KEY=$2 ;;
        --port) ARG_PORT=$2 ;;
        --env-file) ENV_FILE=$2 ;;
        --data-dir) ARG_DATA_DIR=$2 ;;
      esac
      shift
      ;;
    --cloud-url=* | --hub-key=* | --port=* | --env-file=* | --data-dir=*)
      value=${1#*=}
      [[ -n $value ]] || die 2 "The option ${1%%=*} needs a value." "See ./deploy-local.sh --help"
      case $1 in
        --cloud-url=*) ARG_CLOUD_URL=$value ;;
        --hub-key=*) ARG_HUB_KEY=$value ;;
        --port=*) ARG_PORT=$value ;;
        --env-file=*) ENV_FILE=$value ;;
        --data-dir=*) ARG_DATA_DIR=$value ;;
      esac
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die 2 "Unknown option: $1" "See ./deploy-local.sh --help for the options." ;;
  esac
  shift
done

MODE_FLAG=""
[[ $MODE == native ]] && MODE_FLAG=" --native"

case $ENV_FILE in
  /*) ;;
  *) ENV_FILE="$PWD/$ENV_FILE" ;;
esac

# ---------------------------------------------------------------- settings file

declare -A FILE_SETTINGS=()

read_env_file() {
  FILE_SETTINGS=()
  [[ -f $ENV_FILE ]] || return 0
  [[ -r $ENV_FILE ]] || die 2 "The settings file $ENV_FILE cannot be read." "Check its permissions (it should belong to you), then run this again."
  local line key value
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[2]}
    value=${BASH_REMATCH[3]}
    if [[ $value =~ ^\"(.*)\"[[:space:]]*$ || $value =~ ^\'(.*)\'[[:space:]]*$ ]]; then
      value=${BASH_REMATCH[1]}
    else
      value=${value%%[[:space:]]#*}
      value=${value%"${value##*[![:space:]]}"}
    fi
    FILE_SETTINGS[$key]=$value
  done <"$ENV_FILE"
}

# setting NAME [DEFAULT]: this run's value: environment, then settings file, then default.
setting() {
  local name=$1 default=${2:-}
  if [[ -n ${!name:-} ]]; then
    printf '%s' "${!name}"
  elif [[ -n ${FILE_SETTINGS[$name]:-} ]]; then
    printf '%s' "${FILE_SETTINGS[$name]}"
  else
    printf '%s' "$default"
  fi
}

# save_setting NAME VALUE: replace or add NAME=VALUE in the settings file (kept private).
save_setting() {
  local name=$1 value=$2 tmp
  [[ $value != *$'\n'* ]] || die 2 "The value for $name has a line break in it." "Give it on one line."
  tmp="$ENV_FILE.tmp.$$"
  (
    umask 077
    if [[ -f $ENV_FILE ]]; then
      KEY=$name VALUE=$value awk '
        index($0, ENVIRON["KEY"] "=") == 1 { if (!done) print ENVIRON["KEY"] "=" ENVIRON["VALUE"]; done = 1; next }
        { print }
        END { if (!done) print ENVIRON["KEY"] "=" ENVIRON["VALUE"] }' "$ENV_FILE" >"$tmp"
    else
      printf '%s=%s\n' "$name" "$value" >"$tmp"
    fi
  )
  mv -f "$tmp" "$ENV_FILE"
  FILE_SETTINGS[$name]=$value
}

random_secret() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex 32
  else
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
    printf '\n'
  fi
}

valid_url() { [[ $1 =~ ^https?://[^[:space:]/]+[^[:space:]]*$ ]]; }

ask() {
  local prompt=$1 answer
  read -r -p "$prompt" answer || true
  printf '%s' "$answer"
}

# Make sure the settings file exists and names the cloud and the hub key.
ensure_settings() {
  local url key port
  read_env_file
  url=${ARG_CLOUD_URL:-$(setting UPSTREAM_URL)}
  key=${ARG_HUB_KEY:-$(setting HUB_API_KEY)}
  if [[ -z $url || -z $key ]] && [[ -t 0 ]]; then
    say "This hub needs two things from your Lifeline cloud administrator:"
    say "  - the cloud address (for example https://lifeline.example.org)"
    say "  - a hub key (they create it in the app: Admin, Devices, add a hub)"
    [[ -n $url ]] || url=$(ask "Cloud address: ")
    [[ -n $key ]] || key=$(ask "Hub key: ")
  fi
  if [[ -z $url || -z $key ]]; then
    local missing="the cloud address and the hub key"
    [[ -z $url ]] || missing="the hub key"
    [[ -z $key ]] || missing="the cloud address"
    die 2 "The hub cannot start without $missing." \
      "Run it again with both, for example:" \
      "  ./deploy-local.sh${MODE_FLAG} --cloud-url https://your-cloud.example --hub-key YOUR_HUB_KEY" \
      "Your Lifeline administrator creates the hub key in the app (Admin, Devices, add a hub)." \
      "Or put UPSTREAM_URL and HUB_API_KEY in $ENV_FILE (see .env.example)."
  fi
  url=${url%/}
  valid_url "$url" || die 2 "\"$url\" does not look like a web address." \
    "The cloud address must start with https:// (or http://), for example https://lifeline.example.org" \
    "Run again with --cloud-url and the right address."
  [[ $key =~ ^[^[:space:]]+$ ]] || die 2 "The hub key must be one word with no spaces." "Copy it again from the cloud and run with --hub-key KEY."

  if [[ ! -f $ENV_FILE ]]; then
    mkdir -p "$(dirname "$ENV_FILE")"
    (
      umask 077
      {
        printf '# Lifeline local hub settings, written by deploy-local.sh on %s.\n' "$(date '+%Y-%m-%d %H:%M')"
        printf '# Keep this file private: it holds the hub key and secrets. See .env.example.\n'
        printf 'COMPOSE_PROJECT_NAME=lifeline-hub\n'
      } >"$ENV_FILE"
    )
    say "Saved the hub settings in $ENV_FILE"
  fi
  [[ ${FILE_SETTINGS[UPSTREAM_URL]:-} == "$url" ]] || save_setting UPSTREAM_URL "$url"
  [[ ${FILE_SETTINGS[HUB_API_KEY]:-} == "$key" ]] || save_setting HUB_API_KEY "$key"
  [[ -n ${FILE_SETTINGS[SESSION_SECRET]:-} ]] || save_setting SESSION_SECRET "$(random_secret)"
  [[ -n ${FILE_SETTINGS[POSTGRES_PASSWORD]:-} ]] || save_setting POSTGRES_PASSWORD "$(random_secret)"
  [[ -n ${FILE_SETTINGS[OLLAMA_MODEL]:-} ]] || save_setting OLLAMA_MODEL "$(setting OLLAMA_MODEL "$DEFAULT_MODEL")"
  [[ -n ${FILE_SETTINGS[LLM_PROVIDER_ORDER]:-} ]] || save_setting LLM_PROVIDER_ORDER "$(setting LLM_PROVIDER_ORDER ollama,groq)"
  port=${ARG_PORT:-$(setting PORT 3000)}
  [[ ${FILE_SETTINGS[PORT]:-} == "$port" ]] || save_setting PORT "$port"
  if [[ $MODE == native ]]; then
    # Remember a database or data folder given once, so later runs use the same one.
    [[ -z ${DATABASE_URL:-} || -n ${FILE_SETTINGS[DATABASE_URL]:-} ]] || save_setting DATABASE_URL "$DATABASE_URL"
    [[ -z $ARG_DATA_DIR ]] || save_setting DATA_DIR "$ARG_DATA_DIR"
  fi
}

# Resolve this run's values (after ensure_settings, or from whatever exists for --stop/--status).
load_settings() {
  UPSTREAM_URL=${ARG_CLOUD_URL:-$(setting UPSTREAM_URL)}
  UPSTREAM_URL=${UPSTREAM_URL%/}
  HUB_API_KEY=${ARG_HUB_KEY:-$(setting HUB_API_KEY)}
  PORT=${ARG_PORT:-$(setting PORT 3000)}
  if ! [[ $PORT =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT > 65535)); then
    die 2 "The port \"$PORT\" is not a port number." "Use a number between 1 and 65535, for example --port 3000."
  fi
  OLLAMA_MODEL=$(setting OLLAMA_MODEL "$DEFAULT_MODEL")
  DATABASE_URL=$(setting DATABASE_URL)
  HOST_BIND=$(setting HOST)
  DATA_DIR=${ARG_DATA_DIR:-$(setting DATA_DIR ./data/hub)}
  case $DATA_DIR in
    /*) ;;
    *) DATA_DIR="$ROOT/${DATA_DIR#./}" ;;
  esac
  PID_FILE="$DATA_DIR/hub.pid"
  LOG_FILE="$DATA_DIR/hub.log"
  LOCAL_URL="http://localhost:$PORT"
}

# ---------------------------------------------------------------- HTTP

HTTP_STATUS="000"
HTTP_BODY=""
HTTP_VIA_CONTAINER=""

# http_get URL [BEARER]: sets HTTP_STATUS (000 = no answer) and HTTP_BODY. Never fails.
http_get() {
  local url=$1 bearer=${2:-} out tmp
  HTTP_STATUS="000"
  HTTP_BODY=""
  if command -v curl >/dev/null 2>&1; then
    tmp=$(mktemp)
    # The key goes through curl's stdin config, not the command line (visible to `ps`).
    if [[ -n $bearer ]]; then
      HTTP_STATUS=$(printf 'header = "Authorization: Bearer %s"\n' "$bearer" |
        curl -sS -m "$HTTP_TIMEOUT" -o "$tmp" -w '%{http_code}' -K - "$url" 2>/dev/null) || HTTP_STATUS="000"
    else
      HTTP_STATUS=$(curl -sS -m "$HTTP_TIMEOUT" -o "$tmp" -w '%{http_code}' "$url" 2>/dev/null) || HTTP_STATUS="000"
    fi
    HTTP_BODY=$(cat "$tmp")
    rm -f "$tmp"
  elif command -v node >/dev/null 2>&1; then
    out=$(LIFELINE_URL=$url LIFELINE_BEARER=$bearer LIFELINE_TIMEOUT=$HTTP_TIMEOUT node -e "$NODE_FETCH" 2>/dev/null) || out="000"
    HTTP_STATUS=${out%%$'\n'*}
    [[ $out == *$'\n'* ]] && HTTP_BODY=${out#*$'\n'}
  elif [[ -n $HTTP_VIA_CONTAINER ]]; then
    # No curl or node on this machine: ask from inside the hub container (its port is 3000 there).
    url=${url/#http:\/\/127.0.0.1:$PORT/http://127.0.0.1:3000}
    out=$("${COMPOSE[@]}" exec -T -e "LIFELINE_URL=$url" -e "LIFELINE_BEARER=$bearer" -e "LIFELINE_TIMEOUT=$HTTP_TIMEOUT" \
      hub node -e "$NODE_FETCH" 2>/dev/null) || out="000"
    HTTP_STATUS=${out%%$'\n'*}
    [[ $out == *$'\n'* ]] && HTTP_BODY=${out#*$'\n'}
  fi
  [[ $HTTP_STATUS =~ ^[0-9]{3}$ ]] || HTTP_STATUS="000"
  return 0
}

# Can this machine itself make HTTP requests (not only from inside the hub container)?
have_http_client() { command -v curl >/dev/null 2>&1 || command -v node >/dev/null 2>&1; }

# shellcheck disable=SC2016 # JavaScript, not shell: no expansion wanted.
NODE_FETCH='
const { LIFELINE_URL: url, LIFELINE_BEARER: bearer, LIFELINE_TIMEOUT: seconds } = process.env;
fetch(url, {
  headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
  signal: AbortSignal.timeout(Number(seconds || 10) * 1000),
})
  .then(async (r) => process.stdout.write(`${r.status}\n${await r.text()}`))
  .catch(() => process.stdout.write("000\n"));'

# json_value NAME JSON: the first value of that key (string, number, boolean); empty for null or missing.
json_value() {
  local match
  match=$(printf '%s' "$2" | grep -oE "\"$1\":(\"[^\"]*\"|null|true|false|-?[0-9][0-9.]*)" | head -n 1) || true
  match=${match#*\":}
  match=${match#\"}
  match=${match%\"}
  [[ $match == null ]] && match=""
  printf '%s' "$match"
}

# ---------------------------------------------------------------- checks shared by both modes

hub_ready() {
  http_get "http://127.0.0.1:$PORT/readyz"
  [[ $HTTP_STATUS == 200 && $HTTP_BODY == *'"mode":"hub"'* ]]
}

CLOUD_STATE="unknown" # ok | unreachable | unknown
COMMUNITY_NAME=""

# Ask the cloud, with the hub key, who we are: catches a wrong address or key before anything waits on it.
check_cloud() {
  if ! have_http_client; then
    warn "cannot check the cloud from here (no curl or node on this machine); the hub will check by itself."
    return 0
  fi
  step "Checking the cloud at $UPSTREAM_URL"
  http_get "$UPSTREAM_URL/api/sync/status" "$HUB_API_KEY"
  case $HTTP_STATUS in
    200)
      CLOUD_STATE="ok"
      COMMUNITY_NAME=$(json_value communityName "$HTTP_BODY")
      say "The cloud is reachable and accepts this hub's key${COMMUNITY_NAME:+ (community: $COMMUNITY_NAME)}."
      ;;
    401 | 403)
      die 3 "The cloud at $UPSTREAM_URL did not accept the hub key (HTTP $HTTP_STATUS: $(json_value message "$HTTP_BODY"))." \
        "Ask your Lifeline administrator for a new hub key (in the app: Admin, Devices, add a hub; or resume a suspended one)," \
        "then run this again with: ./deploy-local.sh${MODE_FLAG} --hub-key NEW_KEY"
      ;;
    404)
      die 3 "$UPSTREAM_URL answered, but it does not look like a Lifeline cloud (no /api/sync/status there)." \
        "Check the cloud address with your administrator and run again with --cloud-url https://the-right-address"
      ;;
    000)
      CLOUD_STATE="unreachable"
      say "The cloud is not reachable right now (no internet, or the cloud is down). The hub starts anyway."
      ;;
    *)
      CLOUD_STATE="unreachable"
      say "The cloud answered with an error (HTTP $HTTP_STATUS). The hub starts anyway and keeps trying."
      ;;
  esac
}

SYNC_SUMMARY=""

# Read the hub's own sync state (with its key). Returns 0 when known, 1 when the hub does not tell.
hub_sync_status() {
  SYNC_SUMMARY=""
  [[ -n $HUB_API_KEY ]] || return 1
  http_get "http://127.0.0.1:$PORT/api/sync/status" "$HUB_API_KEY"
  [[ $HTTP_STATUS == 200 && $HTTP_BODY == *'"upstream"'* ]] || return 1
  SYNC_STATE=$(json_value state "$HTTP_BODY")
  SYNC_LAST=$(json_value lastSyncAt "$HTTP_BODY")
  SYNC_PENDING=$(json_value pendingUp "$HTTP_BODY")
  SYNC_ERROR=$(json_value lastError "$HTTP_BODY")
  local name
  name=$(json_value communityName "$HTTP_BODY")
  [[ -z $name ]] || COMMUNITY_NAME=$name
  SYNC_SUMMARY="cloud link ${SYNC_STATE:-unknown}; last sync ${SYNC_LAST:-never}; ${SYNC_PENDING:-0} change(s) waiting to go to the cloud${SYNC_ERROR:+; last problem: $SYNC_ERROR}"
  return 0
}

# The hub's upstream worker copies the community from the cloud by itself on first contact: wait for it (bounded).
wait_first_sync() {
  step "Copying the community's data from the cloud"
  if [[ $CLOUD_STATE == unreachable ]]; then
    say "The cloud cannot be reached now, so the hub will sync by itself as soon as the cloud is back."
    say "If this is the hub's first start, members can sign in at the hub only after that first sync."
    return 0
  fi
  local deadline=$((SECONDS + SYNC_TIMEOUT))
  while :; do
    if hub_sync_status; then
      if [[ -n $SYNC_LAST ]]; then
        say "First sync with the cloud finished${COMMUNITY_NAME:+ (community: $COMMUNITY_NAME)}: members can sign in at the hub with their usual password."
        return 0
      fi
    elif [[ $HTTP_STATUS == 401 || $HTTP_STATUS == 403 ]]; then
      say "The cloud accepted the hub's key; the hub is copying the community's data in the background."
      say "(This hub version does not report its sync progress to this script: check the sync status in the app.)"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      say "The first sync has not finished after ${SYNC_TIMEOUT} seconds (${SYNC_SUMMARY:-no sync status yet})."
      say "The hub keeps trying by itself. Check again later with: ./deploy-local.sh${MODE_FLAG} --status"
      return 0
    fi
    sleep 1
  done
}

report_sync() {
  if hub_sync_status; then
    say "Sync: $SYNC_SUMMARY"
  elif [[ $HTTP_STATUS == 401 || $HTTP_STATUS == 403 ]]; then
    say "Sync: this hub version does not report its sync state to this script; see the sync status in the app."
  fi
}

lan_address() {
  local ip=""
  if command -v hostname >/dev/null 2>&1; then ip=$(hostname -I 2>/dev/null | awk '{print $1}') || ip=""; fi
  if [[ -z $ip ]] && command -v ip >/dev/null 2>&1; then
    ip=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1) || ip=""
  fi
  if [[ -z $ip ]] && command -v ipconfig >/dev/null 2>&1; then ip=$(ipconfig getifaddr en0 2>/dev/null) || ip=""; fi
  printf '%s' "$ip"
}

print_urls() {
  local ip
  ip=$(lan_address)
  say ""
  say "Lifeline hub is ready${COMMUNITY_NAME:+ for $COMMUNITY_NAME}."
  if [[ -n $HOST_BIND && $HOST_BIND != 0.0.0.0 && $HOST_BIND != "::" ]]; then
    say "  It listens only on $HOST_BIND: open http://$HOST_BIND:$PORT (remove HOST from $ENV_FILE to let others on the network in)."
  elif [[ -n $ip ]]; then
    say "  Volunteers on this network: open http://$ip:$PORT in a web browser."
  else
    say "  Volunteers on this network: open http://<this computer's address>:$PORT in a web browser."
  fi
  say "  On this computer: $LOCAL_URL"
  say "  They sign in with their usual Lifeline email and password."
  say "  Check it: ./deploy-local.sh${MODE_FLAG} --status    Stop it: ./deploy-local.sh${MODE_FLAG} --stop"
}

is_online() {
  have_http_client || return 0
  local saved=$HTTP_TIMEOUT
  HTTP_TIMEOUT=5
  http_get "$ONLINE_CHECK_URL"
  HTTP_TIMEOUT=$saved
  [[ $HTTP_STATUS != 000 ]]
}

# ---------------------------------------------------------------- Docker mode

COMPOSE=()

need_docker() {
  command -v docker >/dev/null 2>&1 || die 4 "Docker is not installed on this computer." \
    "Install Docker Desktop (Windows, Mac) or Docker Engine (Linux: https://docs.docker.com/engine/install/), then run this again." \
    "Or run the hub without Docker: ./deploy-local.sh --native (needs Node.js 20 or newer)."
  if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
  else
    die 4 "Docker is installed, but Docker Compose is missing." \
      "Install the Compose plugin (Linux: sudo apt-get install docker-compose-plugin; Docker Desktop includes it), then run this again."
  fi
  local problem
  if ! problem=$(docker info 2>&1 >/dev/null); then
    if [[ $problem == *"permission denied"* ]]; then
      die 4 "You are not allowed to use Docker with this account." \
        "Ask an administrator to run: sudo usermod -aG docker $USER   then log out and in, and run this again."
    fi
    die 4 "Docker is installed but not running." \
      "Start Docker Desktop (or on Linux: sudo systemctl start docker), wait until it is up, then run this again."
  fi
  COMPOSE+=(--env-file "$ENV_FILE" -f "$COMPOSE_FILE")
  have_http_client || HTTP_VIA_CONTAINER=1 # then the hub's own checks go through its container
}

docker_hub_running() { [[ -n $("${COMPOSE[@]}" ps -q hub 2>/dev/null) ]]; }

docker_wait_ready() {
  step "Waiting for the hub to be ready (up to ${READY_TIMEOUT} seconds)"
  local deadline=$((SECONDS + READY_TIMEOUT))
  until hub_ready; do
    if ((SECONDS >= deadline)); then
      "${COMPOSE[@]}" logs --tail 30 hub >&2 || true
      die 5 "The hub did not become ready within ${READY_TIMEOUT} seconds (its last messages are above)." \
        "See everything with: docker compose -f docker-compose.local.yml logs hub" \
        "Fix what it complains about in $ENV_FILE, then run this again."
    fi
    sleep 2
  done
  say "The hub is ready."
}

pull_model_docker() {
  step "Assistant model ($OLLAMA_MODEL)"
  if "${COMPOSE[@]}" exec -T ollama ollama list 2>/dev/null | awk 'NR > 1 {print $1}' | grep -Fqx -e "$OLLAMA_MODEL" -e "$OLLAMA_MODEL:latest"; then
    say "The model is already downloaded."
    return 0
  fi
  if ! is_online; then
    say "No internet now: skipping the model download. The assistant still answers with the best passages from your documents."
    say "When the internet is back, run this again (or: docker compose -f docker-compose.local.yml exec ollama ollama pull $OLLAMA_MODEL)."
    return 0
  fi
  say "Downloading the model (about 1-2 GB the first time; this can take a while)..."
  if ! "${COMPOSE[@]}" exec -T ollama ollama pull "$OLLAMA_MODEL"; then
    warn "the model download did not finish. The hub works without it; run this again later to retry."
  fi
}

docker_up() {
  need_docker
  ensure_settings
  load_settings
  # Compose reads the same names from the environment first: make them this run's values.
  export UPSTREAM_URL HUB_API_KEY PORT
  if docker_hub_running && hub_ready; then
    say "The Lifeline hub is already running (after changing $ENV_FILE, apply it with: ./deploy-local.sh --stop, then ./deploy-local.sh)."
    report_sync
    print_urls
    return 0
  fi
  check_cloud
  step "Starting Postgres, Ollama and the hub with Docker (the first time downloads and builds images)"
  "${COMPOSE[@]}" up -d || die 5 "Docker could not start the hub (see the messages above)." \
    "If it says a port is already allocated, choose another port: ./deploy-local.sh --port 3100" \
    "If it says there is no internet, connect this computer once for the first install, then run this again."
  docker_wait_ready
  pull_model_docker
  wait_first_sync
  print_urls
}

docker_status() {
  need_docker
  read_env_file
  load_settings
  "${COMPOSE[@]}" ps
  if hub_ready; then
    say "The hub is running and ready at $LOCAL_URL."
    report_sync
    return 0
  fi
  say "The hub is not answering at $LOCAL_URL. Start it with: ./deploy-local.sh"
  return 1
}

docker_stop() {
  need_docker
  read_env_file
  "${COMPOSE[@]}" stop || die 5 "Docker could not stop the hub (see the messages above)." "Try again, or restart Docker."
  say "The hub is stopped. Its data is kept; start it again with: ./deploy-local.sh"
}

# ---------------------------------------------------------------- native mode

need_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    die 4 "Node.js is not installed (the hub needs Node.js 20 or newer and npm)." \
      "Install Node.js 20 LTS or newer from https://nodejs.org (or your system's packages), then run this again." \
      "Or use Docker instead: ./deploy-local.sh"
  fi
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 11) ? 0 : 1)' ||
    die 4 "This computer has Node.js $(node -v), but the hub needs 20.11 or newer." \
      "Install Node.js 20 LTS or newer from https://nodejs.org, then run this again."
}

# alive PID: running (a zombie waiting to be reaped has exited).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  if [[ -r /proc/$1/stat ]]; then
    local stat
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]] || return 1
  fi
  return 0
}

# The pid in the pid file, if that process is alive and is our hub (not a recycled pid).
native_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid args
  pid=$(tr -dc '0-9' <"$PID_FILE")
  [[ -n $pid ]] && alive "$pid" || return 1
  if [[ -r /proc/$pid/cmdline ]]; then
    args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  else
    args=$(ps -o args= -p "$pid" 2>/dev/null) || args=""
  fi
  [[ $args == *scripts/start.mjs* ]] || return 1
  printf '%s' "$pid"
}

native_prepare() {
  if [[ ! -d $ROOT/node_modules ]]; then
    step "Installing Lifeline's packages (first time only; needs the internet)"
    (cd "$ROOT" && npm ci --no-audit --no-fund) || die 5 "Installing the packages failed (see the messages above)." \
      "Check the internet connection and run this again."
  fi
  if [[ ! -f $ROOT/frontend/build/index.html && -z $(setting FRONTEND_DIR) ]]; then
    step "Building the web app (first time only)"
    (cd "$ROOT" && npm run build -w frontend) || die 5 "Building the web app failed (see the messages above)." \
      "Run this again; if it keeps failing, run 'npm ci' in $ROOT first."
  fi
}

native_start() {
  local key value
  # Settings for the server: the settings file, unless this run's environment says otherwise.
  for key in "${!FILE_SETTINGS[@]}"; do
    # Docker-only keys, and the ones this run has already resolved (flags win).
    [[ $key =~ ^(COMPOSE_PROJECT_NAME|POSTGRES_PASSWORD|UPSTREAM_URL|HUB_API_KEY|PORT|DATA_DIR)$ ]] && continue
    value=$(setting "$key")
    if [[ -n $value ]]; then export "${key}=${value}"; fi
  done
  export UPSTREAM_URL HUB_API_KEY PORT DATA_DIR
  if [[ -n $DATABASE_URL ]]; then
    export DATABASE_URL
    local shown=${DATABASE_URL%%\?*}
    shown=${shown/\/\/*@/\/\/} # no password on screen
    say "Database: Postgres at $shown"
  else
    say "Database: embedded, in $DATA_DIR"
  fi
  : >>"$LOG_FILE"
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  # `npm start` runs `node scripts/start.mjs`; starting it directly makes the pid file the server's own pid.
  (cd "$ROOT" && exec "${launcher[@]}" nohup node scripts/start.mjs >>"$LOG_FILE" 2>&1 </dev/null) &
  printf '%s\n' "$!" >"$PID_FILE"
}

native_wait_ready() {
  step "Waiting for the hub to be ready (up to ${READY_TIMEOUT} seconds)"
  local deadline=$((SECONDS + READY_TIMEOUT))
  until hub_ready; do
    if ! native_pid >/dev/null; then
      rm -f "$PID_FILE"
      say "--- last lines of $LOG_FILE ---" >&2
      tail -n 20 "$LOG_FILE" >&2 || true
      die 5 "The hub stopped while starting (its last messages are above)." \
        "Fix what it complains about (settings are in $ENV_FILE), then run this again." \
        "The full log is $LOG_FILE"
    fi
    if ((SECONDS >= deadline)); then
      die 5 "The hub did not become ready within ${READY_TIMEOUT} seconds." \
        "It is still starting in the background; look at $LOG_FILE," \
        "and check again with ./deploy-local.sh --native --status (stop it with --native --stop)."
    fi
    sleep 0.5
  done
  say "The hub is ready."
}

native_model() {
  local url
  url=$(setting OLLAMA_URL)
  step "Assistant model"
  if [[ -z $url ]]; then
    say "No local model configured (OLLAMA_URL): the assistant uses Groq when the internet is up, otherwise it shows the best passages."
    say "To add one, install Ollama (https://ollama.com), put OLLAMA_URL=http://127.0.0.1:11434 in $ENV_FILE and run this again."
  elif ! command -v ollama >/dev/null 2>&1; then
    say "Using Ollama at $url; make sure it has the model: ollama pull $OLLAMA_MODEL"
  elif OLLAMA_HOST=$url ollama list 2>/dev/null | awk 'NR > 1 {print $1}' | grep -Fqx -e "$OLLAMA_MODEL" -e "$OLLAMA_MODEL:latest"; then
    say "The model $OLLAMA_MODEL is already downloaded."
  elif ! is_online; then
    say "No internet now: skipping the download of $OLLAMA_MODEL. Run this again when the internet is back."
  else
    OLLAMA_HOST=$url ollama pull "$OLLAMA_MODEL" || warn "the model download did not finish; the hub works without it. Run this again later."
  fi
}

native_up() {
  need_node
  ensure_settings
  load_settings
  mkdir -p "$DATA_DIR" || die 2 "Cannot create the data folder $DATA_DIR." "Choose another with --data-dir DIR."
  local pid
  if pid=$(native_pid); then
    if hub_ready; then
      say "The Lifeline hub is already running (process $pid)."
      say "(After changing $ENV_FILE, apply it with: ./deploy-local.sh --native --stop, then run this again.)"
      report_sync
      print_urls
      return 0
    fi
    say "The hub (process $pid) is still starting."
    native_wait_ready
    wait_first_sync
    print_urls
    return 0
  fi
  rm -f "$PID_FILE"
  http_get "http://127.0.0.1:$PORT/readyz"
  if [[ $HTTP_STATUS != 000 ]]; then
    die 4 "Something else is already using port $PORT on this computer." \
      "Stop that program, or choose another port: ./deploy-local.sh --native --port 3100"
  fi
  native_prepare
  check_cloud
  step "Starting the hub (log: $LOG_FILE)"
  native_start
  native_wait_ready
  native_model
  wait_first_sync
  print_urls
}

native_status() {
  read_env_file
  load_settings
  local pid
  if ! pid=$(native_pid); then
    say "The hub is not running. Start it with: ./deploy-local.sh --native"
    return 1
  fi
  if hub_ready; then
    say "The hub is running (process $pid) and ready at $LOCAL_URL."
    report_sync
    return 0
  fi
  say "The hub is running (process $pid) but not ready at $LOCAL_URL yet. Its log: $LOG_FILE"
  return 1
}

native_stop() {
  read_env_file
  load_settings
  local pid
  if ! pid=$(native_pid); then
    rm -f "$PID_FILE"
    say "The hub is not running (nothing to stop)."
    return 0
  fi
  say "Stopping the hub (process $pid); it finishes what it is doing first..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      warn "the hub did not stop within ${STOP_TIMEOUT} seconds; forcing it (its data is safe: changes are committed as they arrive)."
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  say "The hub is stopped. Its data is kept in $DATA_DIR${DATABASE_URL:+ and the database}; start it again with: ./deploy-local.sh --native"
}

# ---------------------------------------------------------------- main

case "$MODE:$ACTION" in
  docker:up) docker_up ;;
  docker:status) docker_status ;;
  docker:stop) docker_stop ;;
  native:up) native_up ;;
  native:status) native_status ;;
  native:stop) native_stop ;;
esac
