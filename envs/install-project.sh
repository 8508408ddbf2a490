#!/usr/bin/env bash
# Installs the project (the `pscale` command and package) into this conda env. Snakemake runs
# `envs/<env>.post-deploy.sh` (a link to this file) once, right after creating the env from `envs/<env>.yaml`, with the
# env activated and the working directory set to the workflow's working directory (where
# snakemake runs, or its --directory). Every envs/<env>.post-deploy.sh links here.
#
# Editable: jobs run the checkout's current code (a code change needs no env rebuild). The
# package's data files (config.schema.yaml, which workflow/schemas/ links to, and
# option_fields.json) sit next to its modules, so an install of either kind finds them.
# --no-deps: the env file pins the dependencies; pyproject.toml's own list would pull torch
# into every env.
#
# The repository: $PSCALE_ROOT if set, else the nearest directory at or above the working
# directory whose pyproject.toml is this project's.
set -euo pipefail

root="${PSCALE_ROOT:-}"
if [ -z "$root" ]; then
    dir="$PWD"
    while :; do
        if [ -f "$dir/pyproject.toml" ] && grep -q '^name = "parallel-scaling"' "$dir/pyproject.toml"; then
            root="$dir"
            break
        fi
        [ "$dir" = / ] && break
        dir="$(dirname "$dir")"
    done
fi
if [ -z "$root" ] || [ ! -f "$root/src/pscale/__init__.py" ]; then
    echo "post-deploy: no parallel-scaling repository at or above $PWD; set PSCALE_ROOT to it" >&2
    exit 1
fi
python -m pip install --no-deps --no-input --disable-pip-version-check -e "$root"
