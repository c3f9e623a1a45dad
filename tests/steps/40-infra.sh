#!/usr/bin/env bash
# infra: the CloudFormation templates (our own checks over the parsed YAML + cfn-lint on every rendered
# template), the doctor's checks on recorded setups, its collection against a local moto server, and
# the CLI's `deploy --dry-run` / `doctor --facts`.
set -euo pipefail
cd "$ROOT"
export PATH="$ROOT/.tools/venv/bin:$PATH"
command -v cfn-lint >/dev/null || { echo "cfn-lint missing: run scripts/setup.sh"; exit 1; }
command -v moto_server >/dev/null || { echo "moto_server missing: run scripts/setup.sh"; exit 1; }

# 1. Rust: render + parsed-template checks, doctor fixtures, and moto collection (the moto test starts
#    its own moto_server on a free loopback port and stops it).
cargo test -p infra 2>&1
sections=1

# 2. The CLI renders with the real spec and generated viewer function. Packaging needs only the
#    artifacts' presence here (the templates depend on the zips' hashes, not their contents), so small
#    stand-ins keep this step from building the wasm and native Lambdas.
cargo build -p scalefront --quiet
bin="$ROOT/target/debug/scalefront"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/artifacts/edge" "$tmp/artifacts/regional"
for f in index.mjs resize_lambda.js resize_lambda_bg.wasm; do echo "stand-in $f" > "$tmp/artifacts/edge/$f"; done
printf '#!/bin/sh\n' > "$tmp/artifacts/regional/bootstrap"
# No AWS call may happen on a dry run: point the aws CLI at nothing.
SCALEFRONT_AWS=/nonexistent "$bin" deploy --bucket example-photos --region eu-west-1 --dry-run \
  --artifacts "$tmp/artifacts" --out "$tmp/a" > "$tmp/dry-a.txt"
grep -q '^plan: scalefront edge mode, stack scalefront-example-photos' "$tmp/dry-a.txt"
grep -q 'LambdaFunctionAssociations' "$tmp/dry-a.txt"
grep -q '^rule spec: 388 variants per original' "$tmp/dry-a.txt"
SCALEFRONT_AWS=/nonexistent "$bin" deploy --bucket example-photos --region eu-west-1 --dry-run --mode regional \
  --artifacts "$tmp/artifacts" --out "$tmp/a" > "$tmp/dry-r.txt"
grep -q 'OriginGroups' "$tmp/dry-r.txt"
# A changed spec publishes a new Lambda version (the Version resource's Description changes).
sed 's/^qualities = .*/qualities = [50, 75, 95]/' scalefront.toml > "$tmp/changed.toml"
SCALEFRONT_AWS=/nonexistent "$bin" deploy --bucket example-photos --region eu-west-1 --dry-run --config "$tmp/changed.toml" \
  --artifacts "$tmp/artifacts" --out "$tmp/b" > /dev/null
va=$(grep 'Description: "scalefront package' "$tmp/a/template-edge.yaml")
vb=$(grep 'Description: "scalefront package' "$tmp/b/template-edge.yaml")
[ "$va" != "$vb" ] || { echo "spec change did not change the Lambda version: $va"; exit 1; }
echo "version on spec change: $va -> $vb"
# So does a new memory size: a published version freezes its configuration.
SCALEFRONT_AWS=/nonexistent "$bin" deploy --bucket example-photos --region eu-west-1 --dry-run --memory 3008 \
  --artifacts "$tmp/artifacts" --out "$tmp/m" > "$tmp/dry-m.txt"
vm=$(grep 'Description: "scalefront package' "$tmp/m/template-edge.yaml")
[ "$va" != "$vm" ] || { echo "memory change did not change the Lambda version: $va"; exit 1; }
grep -q 'Description: "scalefront package .* 3008 MB' "$tmp/dry-m.txt"
# ...and the plan says the distribution switches to it (the change-set step names the version).
grep -q 'associates Lambda@Edge version «scalefront package .* 3008 MB' "$tmp/dry-m.txt"
grep -q 'associates Lambda@Edge version «scalefront package .* 1769 MB' "$tmp/dry-a.txt"
echo "version on memory change: $va -> $vm"
# Signed URLs: the stack creates a KeyValueStore from the uploaded keys and associates it with the
# function; the plan uploads the keys; a signed spec without --keys is refused.
printf 'signed = true\n' > "$tmp/signed.toml"
"$bin" sign --new-keys "$tmp/keys.json" 2>/dev/null
if SCALEFRONT_AWS=/nonexistent "$bin" deploy --bucket example-photos --region eu-west-1 --dry-run --config "$tmp/signed.toml" \
  --artifacts "$tmp/artifacts" --out "$tmp/c" > /dev/null 2>"$tmp/err.txt"; then echo "a signed spec deployed without keys"; exit 1; fi
grep -q 'give --keys FILE' "$tmp/err.txt"
SCALEFRONT_AWS=/nonexistent "$bin" deploy --bucket example-photos --region eu-west-1 --dry-run --config "$tmp/signed.toml" \
  --keys "$tmp/keys.json" --artifacts "$tmp/artifacts" --out "$tmp/c" > "$tmp/dry-c.txt"
grep -q 'Type: AWS::CloudFront::KeyValueStore' "$tmp/dry-c.txt"
grep -q 'KeyValueStoreAssociations' "$tmp/dry-c.txt"
grep -q 'Default: "keys/scalefront-example-photos.json"' "$tmp/dry-c.txt"
grep -q 'upload the signing keys' "$tmp/dry-c.txt"
grep -q '"signingKey"' <(unzip -p "$tmp/c/origin-response.zip" config.json)
[ "$(stat -c %a "$tmp/c/signing-keys.json")" = 600 ] || { echo "signing-keys.json is readable by others"; exit 1; }
echo "signed spec: KeyValueStore imported from the uploaded keys, origin key in the package"
# The site's own domain, a --prefix and the plan's named steps (the dry run prints the steps
# execution runs; cfn-lint below checks the alias and certificate in the rendered templates).
SCALEFRONT_AWS=/nonexistent "$bin" deploy --bucket example-photos --region eu-west-1 --dry-run --prefix photos/ \
  --domain images.example.com --certificate arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab \
  --artifacts "$tmp/artifacts" --out "$tmp/d" > "$tmp/dry-d.txt"
for step in survey bucket certificate package upload region-stack change-set wait wire events lifecycle bucket-policy key-policy dns logs verify; do
  grep -qE "^  [0-9]+\. $step: " "$tmp/dry-d.txt" || { echo "the plan lacks step $step"; cat "$tmp/dry-d.txt"; exit 1; }
done
grep -q 'CloudFront may read photos/\* and _sf/\*' "$tmp/dry-d.txt"
grep -q 'MinimumProtocolVersion: TLSv1.2_2021' "$tmp/d/template-edge.yaml"
echo "plan with --domain and --prefix: $(grep -cE '^  [0-9]+\. ' "$tmp/dry-d.txt") named steps"
sections=$((sections + 1))

# 3. cfn-lint on every rendered template (committed examples + the CLI's renders).
templates=(infra/examples/template-*.yaml "$tmp"/a/template-*.yaml "$tmp"/b/template-*.yaml "$tmp"/c/template-*.yaml "$tmp"/m/template-*.yaml "$tmp"/d/template-*.yaml)
cfn-lint "${templates[@]}"
echo "cfn-lint: ${#templates[@]} templates clean"
sections=$((sections + 1))

# 4. doctor on saved facts: a healthy setup exits 0 with every line ok; a broken one exits 1 with the fix.
"$bin" doctor --facts infra/tests/doctor/edge-good.json > "$tmp/good.txt"
if grep -q '^FAIL\|^WARN' "$tmp/good.txt"; then cat "$tmp/good.txt"; exit 1; fi
python3 - "$tmp/broken.json" <<'PY'
import json, sys
f = json.load(open("infra/tests/doctor/edge-good.json"))
role = next(iter(f["lambdas"].values()))["role"]
role["get_role"]["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] = ["lambda.amazonaws.com"]
json.dump(f, open(sys.argv[1], "w"))
PY
if "$bin" doctor --facts "$tmp/broken.json" > "$tmp/broken.txt"; then echo "doctor passed a broken setup"; exit 1; fi
grep -q '^FAIL role-trust .*edgelambda.amazonaws.com — fix: ' "$tmp/broken.txt"
# A setup that only warns (its runtime deprecates within 180 days of the day its facts were read)
# exits 0, the warning and its fix on a WARN line, counted apart.
python3 - "$tmp/warn.json" <<'PY'
import json, sys
f = json.load(open("infra/tests/doctor/edge-good.json"))
next(iter(f["lambdas"].values()))["configuration"]["Runtime"] = "nodejs22.x"
json.dump(f, open(sys.argv[1], "w"))
PY
"$bin" doctor --facts "$tmp/warn.json" > "$tmp/warn.txt"
grep -q '^WARN edge-runtime .*nodejs22.x: Lambda deprecates it on 2027-04-30 .* — fix: move to nodejs24.x' "$tmp/warn.txt"
grep -q '^doctor: no problems among [0-9]* checks, 1 warning(s)$' "$tmp/warn.txt"
# --set-log-retention takes only a retention CloudWatch keeps, and only on a live setup.
if SCALEFRONT_AWS=/nonexistent "$bin" doctor --stack s --set-log-retention 31 2> "$tmp/err.txt"; then echo "doctor took a 31-day retention"; exit 1; fi
grep -q 'not 31' "$tmp/err.txt"
if "$bin" doctor --facts "$tmp/warn.json" --set-log-retention 30 2> /dev/null; then echo "doctor set retentions from saved facts"; exit 1; fi
sections=$((sections + 1))
# Reached only when every section above passed (set -e).
echo "infra: $sections passed, 0 failed"
