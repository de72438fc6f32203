# debcache.sh — sourced by fetch-kernel.sh and fetch-boot.sh: keep files unpacked from a
# Debian package in a cache outside the checkout (read by internal/debcache), one
# directory per version and a file `current` naming the one in use. Packages are fetched
# with apt-get download and unpacked with dpkg-deb; nothing is installed on the host.
#
# The sourcing script sets: name (for messages), cache, marker (the file under
# <cache>/<version>/ that says a version is complete), and defines resolve (print the
# version to use, or nothing) and unpack ROOT DEST (move what it keeps from the unpacked
# package ROOT into DEST). Then it calls debcache_fetch PACKAGE-SPEC-FOR-VERSION.

# debcache_start locks the cache and settles the version: it exits when apt cannot help
# and a version is cached already, and prints the version otherwise.
debcache_start() {
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9
  if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    debcache_have && exit 0
    echo "$name: no apt-get/dpkg-deb here and nothing cached in $cache" >&2
    exit 1
  fi
  version=$(resolve)
  if [ -z "$version" ] && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    version=$(resolve)
  fi
  if [ -z "$version" ]; then
    debcache_have && exit 0
    echo "$name: apt knows no package to fetch (run apt-get update as root)" >&2
    exit 1
  fi
  # A version names a directory: an epoch's ':' is fine there, a '/' is not.
  version=${version//\//_}
  if [ -f "$cache/$version/$marker" ]; then
    echo "$version" >"$cache/current"
    exit 0
  fi
}

debcache_have() {
  [ -s "$cache/current" ] && [ -f "$cache/$(cat "$cache/current")/$marker" ]
}

# debcache_fetch SPEC downloads SPEC, lets unpack keep its files, and makes them current.
debcache_fetch() {
  local spec=$1 sandbox=() deb
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "$name: downloading $spec into $cache (once)"
  [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
  (cd "$tmp" && apt-get download -qq "${sandbox[@]}" "$spec")
  deb=$(ls "$tmp"/*.deb)
  dpkg-deb -x "$deb" "$tmp/root"
  mkdir "$tmp/$version"
  unpack "$tmp/root" "$tmp/$version"
  mv "$tmp/$version" "$cache/$version"
  echo "$version" >"$cache/current.tmp"
  mv "$cache/current.tmp" "$cache/current"
  echo "$name: $version ready"
}
