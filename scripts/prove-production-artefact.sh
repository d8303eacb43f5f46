#!/usr/bin/env bash
# Proves the production artefact, built as the Dockerfile builds it (npm ci, production build,
# npm prune --omit=dev), in a copy of the project:
#   1. it contains no sandbox (dist/sandbox absent) and boots with NODE_ENV=production SANDBOX=false
#      against a fresh PostgreSQL database, every required variable set explicitly (random keys), until
#      GET /health/ready answers 200;
#   2. NODE_ENV=production SANDBOX=true refuses to start: non-zero exit, a message naming SANDBOX.
# Needs PostgreSQL on $PGHOST:$PGPORT (default 127.0.0.1:5432, user postgres) and openssl.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
WORK="$(mktemp -d)"
DB="connector_artefact_$$"
APP_PID=""

cleanup() {
  if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
    kill "$APP_PID" 2>/dev/null || true
    wait "$APP_PID" 2>/dev/null || true
  fi
  psql -h "$PGHOST" -p "$PGPORT" -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== production artefact: copy to $WORK"
tar -C "$ROOT" --exclude=./node_modules --exclude=./dist --exclude=./.git --exclude=./.data \
  --exclude=./bench/results -cf - . | tar -C "$WORK" -xf -
cd "$WORK"

echo "== install, production build, npm prune --omit=dev (as the Dockerfile)"
if [ -d "$ROOT/node_modules" ] && [ "${ARTEFACT_NPM_CI:-0}" != "1" ]; then
  # .ci/run has just run `npm ci` from the same lockfile: a copy is that install, minus the download
  # (a real copy, not hard links: npm may rewrite files in place). ARTEFACT_NPM_CI=1 installs afresh.
  cp -a "$ROOT/node_modules" node_modules
else
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
fi
npm run build --silent
npm prune --omit=dev --no-audit --no-fund --loglevel=error
if [ -e dist/sandbox ]; then
  echo "FAIL: the production build contains dist/sandbox" >&2
  exit 1
fi
echo "dist/ holds: $(ls dist | tr '\n' ' ')(no sandbox)"

psql -h "$PGHOST" -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $DB"
PORT="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/sg-private.pem" 2>/dev/null
openssl pkey -in "$WORK/sg-private.pem" -pubout -out "$WORK/sg-public.pem"

# Every variable explicit, nothing inherited (env -i): what a real deployment has to provide.
# NODE_OPTIONS as the image sets it (its heap budget and young generation), quotes removed as Docker reads ENV.
PROD_ENV=(
  PATH="$PATH" HOME="$HOME"
  NODE_ENV=production
  NODE_OPTIONS="$(sed -n 's/^ENV NODE_OPTIONS="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' Dockerfile)"
  PORT="$PORT"
  PUBLIC_URL="http://127.0.0.1:$PORT"
  DATABASE_URL="postgres://postgres@$PGHOST:$PGPORT/$DB"
  ENCRYPTION_KEY="$(openssl rand -base64 32)"
  API_KEYS="$(openssl rand -hex 16)"
  OPERATOR_KEY="$(openssl rand -hex 16)"
  CUSTOMER_JWKS_URL=https://auth.example.invalid/.well-known/jwks.json
  CLEENG_API_URL=https://api.sandbox.cleeng.com/3.1
  CLEENG_PUBLISHER_TOKEN="$(openssl rand -hex 16)"
  CLEENG_WEBHOOK_SECRET="$(openssl rand -hex 16)"
  CLEENG_PAYMENT_METHODS=adyen:101,cleverbridge:104
  ADYEN_API_URL=https://checkout-test.adyen.com/v71
  ADYEN_API_KEY="$(openssl rand -hex 16)"
  ADYEN_MERCHANT_ACCOUNT=ArtefactCheckECOM
  ADYEN_HMAC_KEY="$(openssl rand -hex 32 | tr a-f A-F)"
  CLEVERBRIDGE_API_URL=https://rest.cleverbridge.com
  CLEVERBRIDGE_USERNAME="$(openssl rand -hex 8)"
  CLEVERBRIDGE_PASSWORD="$(openssl rand -hex 16)"
  CLEVERBRIDGE_NOTIFY_USERNAME="$(openssl rand -hex 8)"
  CLEVERBRIDGE_NOTIFY_PASSWORD="$(openssl rand -hex 16)"
  SMART_GLOCAL_API_URL=https://demo.smart-glocal.com
  SMART_GLOCAL_PROJECT="$(openssl rand -hex 4)"
  SMART_GLOCAL_PRIVATE_KEY="$(cat "$WORK/sg-private.pem")"
  SMART_GLOCAL_PUBLIC_KEY="$(cat "$WORK/sg-public.pem")"
  SMARTPAY_API_URL=https://smartpay.example.invalid
  SMARTPAY_MERCHANT_KEY="$(openssl rand -hex 16)"
  SMARTPAY_AUTH_KEY="$(openssl rand -hex 16)"
  SMARTPAY_NOTIFY_USERNAME="$(openssl rand -hex 8)"
  SMARTPAY_NOTIFY_PASSWORD="$(openssl rand -hex 16)"
  SMARTPAY_WIDGET_URL=https://sdk.smartpay.example.invalid/smp-bundle.js
  REBILL_CRON=off
)

echo "== boot: NODE_ENV=production SANDBOX=false node dist/src/main.js"
env -i "${PROD_ENV[@]}" SANDBOX=false node dist/src/main.js >"$WORK/boot.log" 2>&1 &
APP_PID=$!
READY=""
for _ in $(seq 1 60); do
  if ! kill -0 "$APP_PID" 2>/dev/null; then
    break
  fi
  if READY="$(curl -sf "http://127.0.0.1:$PORT/health/ready")"; then
    break
  fi
  READY=""
  sleep 1
done
if [ -z "$READY" ]; then
  echo "FAIL: the production artefact did not become ready; its output:" >&2
  cat "$WORK/boot.log" >&2
  exit 1
fi
echo "GET /health/ready -> 200 $READY"
echo "-- boot output (last lines)"
tail -n 5 "$WORK/boot.log" | cut -c1-300
if curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/sandbox/clock" | grep -qv '^404$'; then
  echo "FAIL: /sandbox/clock is served by the production artefact" >&2
  exit 1
fi
echo "GET /sandbox/clock -> 404 (no emulators)"
kill "$APP_PID"
wait "$APP_PID" || true
APP_PID=""

echo "== refuse: NODE_ENV=production SANDBOX=true node dist/src/main.js"
set +e
REFUSAL="$(env -i "${PROD_ENV[@]}" SANDBOX=true timeout 60 node dist/src/main.js 2>&1)"
STATUS=$?
set -e
echo "exit $STATUS: $REFUSAL"
if [ "$STATUS" -eq 0 ] || ! grep -q 'SANDBOX' <<<"$REFUSAL"; then
  echo "FAIL: NODE_ENV=production SANDBOX=true must exit non-zero naming SANDBOX" >&2
  exit 1
fi
echo "== production artefact proven"
