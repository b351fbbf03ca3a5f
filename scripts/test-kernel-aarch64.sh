#!/usr/bin/env bash
# Runs the candidate kernel's tests (src/scan/kernel/: NEON classifier and driver against
# the scalar walk, property tests included) as aarch64 code under qemu-user, so that the
# NEON path is tested on an x86_64 machine. The kernel is plain `std` code, so it is built
# alone in a scratch crate (the rest of pansweep needs C toolchains for aarch64).
# Installs what it needs: the aarch64 std (rustup), qemu-user and an aarch64 linker (apt).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${TMPDIR:-/tmp}/pansweep-kernel-aarch64
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
    SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get install -y -qq qemu-user gcc-aarch64-linux-gnu >/dev/null \
        || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq qemu-user gcc-aarch64-linux-gnu >/dev/null; }
fi
mkdir -p "$WORK/src" "$WORK/.cargo"
cat >"$WORK/Cargo.toml" <<'TOML'
[package]
name = "pansweep-kernel-aarch64"
version = "0.0.0"
edition = "2024"
publish = false

[dev-dependencies]
proptest = "1"
TOML
echo "#[path = \"$ROOT/src/scan/kernel/mod.rs\"] pub mod kernel;" >"$WORK/src/lib.rs"
cat >"$WORK/.cargo/config.toml" <<'TOML'
[target.aarch64-unknown-linux-gnu]
linker = "aarch64-linux-gnu-gcc"
runner = "qemu-aarch64 -L /usr/aarch64-linux-gnu"
TOML
cd "$WORK"
cargo test --quiet --target aarch64-unknown-linux-gnu
