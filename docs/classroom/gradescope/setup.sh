#!/bin/sh
# Gradescope runs this once, when it builds the autograder's image: it
# installs Go and builds every lab once, so that each submission grades in
# seconds. The zip it comes in holds the instructor's copy of the workbook
# (this folder's two files at its top, beside the workbook's files, which
# Gradescope unpacks into /autograder/source).
set -eu
GO_VERSION=${GO_VERSION:-1.26.8}
apt-get update -q && apt-get install -y -q curl ca-certificates gcc
curl -fsSL "https://go.dev/dl/go${GO_VERSION}.linux-amd64.tar.gz" | tar -C /usr/local -xz
export PATH="/usr/local/go/bin:$PATH"
cd /autograder/source
go run ./cmd/grader setup
