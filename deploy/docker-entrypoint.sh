#!/bin/sh
# Runs the given command. On an NVIDIA GPU whose container has the driver's
# library but not its Vulkan ICD manifest (it happens), writes one, so wgpu
# finds the GPU.
set -e
if [ -z "${VK_ICD_FILENAMES:-}" ] \
    && ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
    glx="$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0 / {print $NF; exit}')"
    if [ -n "$glx" ]; then
        icd="${TMPDIR:-/tmp}/nvidia_icd.json"
        printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$glx" >"$icd"
        export VK_ICD_FILENAMES="$icd"
    fi
fi
exec "$@"
