# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone on a minimal, non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/aalscert ./cmd/aalscert

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aalscert /aalscert
USER nonroot:nonroot
ENV AALS_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/aalscert"]
CMD ["serve"]
