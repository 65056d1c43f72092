# The vksplan CLI in a small image. HiGHS is built from source (cmake, a C++ compiler and
# libclang for its bindings) in the build stage and linked statically; the runtime stage needs
# only the C++ runtime.
#   docker build -t vksplan:0.1.0 .
#   docker run --rm -v "$PWD/fixtures:/in:ro" vksplan:0.1.0 plan /in/reference.json
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake g++ libclang-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin vksplan

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libstdc++6 libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/vksplan /usr/local/bin/vksplan
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/vksplan"]
