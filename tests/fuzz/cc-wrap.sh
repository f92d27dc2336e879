#!/usr/bin/env bash
# The compiler launcher of the clang fuzz build (build/fuzz). clang warns
# where gcc, the project's compiler, does not (-Wcast-qual inside protoc-c's
# *_INIT macros, -Wfor-loop-analysis, ...): code outside tests/fuzz/ is built
# here with those reported but not fatal (the gcc builds keep -Werror for
# it); tests/fuzz/ keeps -Werror, less -Wcast-qual for the *_INIT macros.
case " $* " in
  *tests/fuzz/*) exec "$@" -Wno-cast-qual ;;
  *) exec "$@" -Wno-error ;;
esac
