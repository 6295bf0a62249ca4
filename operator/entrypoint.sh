#!/bin/sh
# Runs the operator jar: the "operator" command unless other arguments are given.
# JAVA_OPTS tunes the JVM (a container-aware heap by default).
set -eu
if [ "$#" -eq 0 ]; then
  set -- operator
fi
exec java ${JAVA_OPTS:--XX:MaxRAMPercentage=75} -jar /opt/pg-trickle-operator/pg-trickle-operator.jar "$@"
