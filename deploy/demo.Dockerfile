# syntax=docker/dockerfile:1
# The lab 06 demo for docker-compose.yml. The image keeps the source and the Go
# toolchain, because `demo -reference` builds the reference solution from them.
FROM golang:1.26
WORKDIR /src

# The modules in a layer of their own: editing a lab does not download them again.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# Compile once here, so that the container starts in seconds and needs no
# network at run time: the modules and the build cache are in the image.
RUN go build -o /usr/local/bin/demo ./cmd/demo
ENV GOPROXY=off GOTOOLCHAIN=local

EXPOSE 8080 8081
# The demo itself is PID 1, not `go run`, so that docker stop's SIGTERM reaches it
# and it shuts down gracefully. tools/stack checks these flags against cmd/demo.
CMD ["demo", "-checkout", ":8080", "-payments", ":8081", "-otlp", "jaeger:4317", "-load", "5"]
