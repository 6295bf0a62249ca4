#!/bin/sh
# Runs the operator jar; JAVA_OPTS tunes the JVM (container-aware heap by default).
set -eu
exec java ${JAVA_OPTS:--XX:MaxRAMPercentage=75} -jar /opt/pg-trickle-operator/pg-trickle-operator.jar "$@"
