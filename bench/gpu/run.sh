#!/usr/bin/env bash
# Runs on the lent GPU machine (copied to .gpu/run.sh by pack.sh): unpacks the Vulkan loader,
# Node and the bench bundle, then runs the Node bench on the hardware adapter into $OUT.
cd "$(dirname "$0")/.."
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
N=$(command -v node) || { xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node && N=/tmp/node; }
echo "node: $N $($N --version)"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# Everything #16 asks of a lent GPU in one call: the seed's net on both devices and beside its
# peers, the kernels up to 4096³, the host time per step (layer by layer, fused, several steps a
# submit), the 10,000-step long run through the Trainer on each path, and SimpleConvNet's step
# beside TF.js and jax-js; then the skip_validation A/B. At most 370 + 100 s; the bench writes
# its file after each section, so a run cut short keeps what it measured.
SECTIONS=${SECTIONS:-steps,gpu-vs-cpu,kernels,overhead,host,long-run,conv}
run() { timeout 370 "$N" .gpu/dist/bench-node.mjs --no-mnist --adapter hardware --only "$SECTIONS" --json --out "$OUT" "$@"; }
if ! run "$@" > "$OUT/stdout.txt" 2> "$OUT/stderr.txt" && grep -q NoAdapterError "$OUT/stderr.txt"; then
  # Some images keep the NVIDIA Vulkan ICD outside the loader's default search path.
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  run "$@" > "$OUT/stdout.txt" 2> "$OUT/stderr.txt"
fi
echo "exit $?"; grep -v '^{' "$OUT/stdout.txt" | head -c 7000; tail -5 "$OUT/stderr.txt"
# Dawn's skip_validation A/B (one device per process, so its own script): host time per step with
# validation on against off. Never a default; measured because on a GPU the host is the step.
timeout 100 "$N" .gpu/dist/skip-validation.mjs --no-mnist --adapter hardware --rounds 9 --out "$OUT/skip-validation.json" > "$OUT/skip-validation.txt" 2>&1
echo "skip-validation exit $?"; tail -12 "$OUT/skip-validation.txt"
