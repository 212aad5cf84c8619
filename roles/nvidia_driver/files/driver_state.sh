#!/bin/sh
# What decides whether a reboot would load the NVIDIA driver, as one JSON object on stdout.
# Reads only (sysfs, /boot, modinfo); changes nothing. Usage: driver_state.sh
#   gpus                    NVIDIA display/3D controllers on the PCI bus (what `lspci -d 10de:` lists,
#                           read from sysfs so pciutils is not needed; audio functions not counted)
#   loaded                  version of the loaded nvidia module ("" = none)
#   running_kernel          uname -r
#   default_kernel          the kernel the host boots next (grubby on EL; newest installed elsewhere)
#   module_default_kernel   version of the nvidia module built for default_kernel ("" = none)
#   module_signer           signer of that module ("" = unsigned)
#   headers_default_kernel  /lib/modules/<default_kernel>/build exists (DKMS can build for it)
#   secure_boot             enabled | disabled | unknown
set -u

gpus=0
for dev in /sys/bus/pci/devices/*; do
  [ -r "$dev/vendor" ] || continue
  if [ "$(cat "$dev/vendor")" = "0x10de" ]; then
    case "$(cat "$dev/class")" in 0x03*) gpus=$((gpus + 1)) ;; esac
  fi
done

loaded=""
[ -r /sys/module/nvidia/version ] && loaded=$(cat /sys/module/nvidia/version)

running=$(uname -r)
default=""
if command -v grubby >/dev/null 2>&1; then
  default=$(grubby --default-kernel 2>/dev/null | sed 's|^/boot/vmlinuz-||')
elif command -v linux-version >/dev/null 2>&1; then
  default=$(linux-version list 2>/dev/null | linux-version sort --reverse 2>/dev/null | head -n 1)
fi
[ -n "$default" ] || default=$running

module_version=""
signer=""
for name in nvidia nvidia-current; do
  v=$(modinfo -k "$default" -F version "$name" 2>/dev/null | head -n 1)
  if [ -n "$v" ]; then
    module_version=$v
    signer=$(modinfo -k "$default" -F signer "$name" 2>/dev/null | head -n 1)
    break
  fi
done

headers=false
[ -d "/lib/modules/$default/build" ] && headers=true

# Secure Boot: no EFI = legacy BIOS boot = off; else the SecureBoot EFI variable (4 attribute
# bytes, then the value); mokutil when the variable cannot be read.
secure_boot=unknown
if [ ! -d /sys/firmware/efi ]; then
  secure_boot=disabled
else
  var=$(ls /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c 2>/dev/null)
  if [ -n "$var" ] && byte=$(od -An -t u1 -j 4 -N 1 "$var" 2>/dev/null | tr -d ' ') && [ -n "$byte" ]; then
    if [ "$byte" = 1 ]; then secure_boot=enabled; else secure_boot=disabled; fi
  elif command -v mokutil >/dev/null 2>&1; then
    case "$(mokutil --sb-state 2>/dev/null)" in
      *"SecureBoot enabled"*) secure_boot=enabled ;;
      *"SecureBoot disabled"*) secure_boot=disabled ;;
    esac
  fi
fi

printf '{"gpus": %d, "loaded": "%s", "running_kernel": "%s", "default_kernel": "%s", ' \
  "$gpus" "$loaded" "$running" "$default"
printf '"module_default_kernel": "%s", "module_signer": "%s", "headers_default_kernel": %s, "secure_boot": "%s"}\n' \
  "$module_version" "$signer" "$headers" "$secure_boot"
