#!/usr/bin/env bash
# Writes .env beside docker-compose.yml with a random NATS password per user
# of deployments/nats/auth.conf (the server's INTHUB_NATS_PASSWORD_<USER>),
# which docker compose reads. Run once before `docker compose up`; it never
# overwrites an existing .env (delete it to rotate every password).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -e .env ]]; then
	echo ".env exists; delete it first to make new passwords" >&2
	exit 1
fi
users=$(sed -n 's/^ *password: \$\(INTHUB_NATS_PASSWORD_[A-Z_]*\)$/\1/p' deployments/nats/auth.conf)
umask 077
for var in $users; do
	echo "$var=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
done > .env
echo "wrote .env with $(wc -l < .env) NATS passwords (mode 600)"
