#!/usr/bin/env bash
# PointProbe.cs compiled with .NET 10's runtime async (preview): the compiler flag goes into a copy of
# the probe (so RtRuntime itself is built as usual), and the runtime is told to accept such methods.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
{
    echo "#:project $here/../../src/RtRuntime/RtRuntime.csproj"
    echo "#:property Features=runtime-async=on"
    echo "#:property EnablePreviewFeatures=true"
    tail -n +2 "$here/PointProbe.cs"
} > "$dir/PointProbe.cs"
DOTNET_RuntimeAsync=1 dotnet run -c Release "$dir/PointProbe.cs"
