#!/usr/bin/env bash
# A throwaway certificate authority and a server certificate for 127.0.0.1/localhost,
# for the secured test brokers. Everything goes into DIR (never into the repo):
#   ca.pem ca.key           the CA (self-signed, 2 days)
#   server.pem server.key   server certificate (SAN IP:127.0.0.1, DNS:localhost) and key
#   server.p12              the same as a PKCS12 keystore (Kafka), password in keystore.pass
#   truststore.p12          the CA as a PKCS12 truststore (Java clients), password in keystore.pass
#
#   scripts/security/certs.sh DIR
set -euo pipefail
DIR="${1:?usage: certs.sh DIR}"
mkdir -p "$DIR"
cd "$DIR"
if [[ -f server.pem && -f ca.pem ]]; then exit 0; fi

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=a2a-bus test CA" \
  -keyout ca.key -out ca.pem -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext

# Java key and trust stores (Kafka and its probe), with a random store password.
openssl rand -hex 16 >keystore.pass
openssl pkcs12 -export -in server.pem -inkey server.key -certfile ca.pem -name server \
  -out server.p12 -passout "file:keystore.pass"
keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.p12 \
  -storetype PKCS12 -storepass "$(cat keystore.pass)" >/dev/null 2>&1
chmod 600 ./*.key keystore.pass
