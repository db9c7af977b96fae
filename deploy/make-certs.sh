#!/bin/sh
# Makes the private CA and the certificate OpenSearch serves HTTPS with, for
# docker-compose.yml: deploy/certs/ca.pem (the portal trusts it through `?ca=`),
# opensearch.pem and opensearch-key.pem (for the host names "opensearch" and
# "localhost", the latter for the container's own health check). The CA's key stays in
# deploy/certs/ca-key.pem, outside every container: keep it, or delete it and run this
# again to replace everything. Existing files are never overwritten.
set -eu
cd "$(dirname "$0")"
mkdir -p certs
chmod 700 certs
cd certs
if [ -e ca.pem ] || [ -e opensearch.pem ]; then
    echo "deploy/certs already holds certificates; delete them first to make new ones" >&2
    exit 1
fi
umask 077
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out ca-key.pem
openssl req -x509 -new -key ca-key.pem -sha256 -days 3650 -subj "/O=Aftaleportalen/CN=Aftaleportalen OpenSearch CA" -out ca.pem
# OpenSearch reads only PKCS#8 keys, which is what genpkey writes.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out opensearch-key.pem
openssl req -new -key opensearch-key.pem -subj "/O=Aftaleportalen/CN=opensearch" -out opensearch.csr
printf 'subjectAltName=DNS:opensearch,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > opensearch.ext
openssl x509 -req -in opensearch.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 -days 825 \
    -extfile opensearch.ext -out opensearch.pem
rm -f opensearch.csr opensearch.ext ca.srl
# The containers run as other users (OpenSearch as uid 1000): the files they mount must
# be readable to them; the folder itself stays closed to other host users.
chmod 644 ca.pem opensearch.pem opensearch-key.pem
echo "made deploy/certs/ca.pem, opensearch.pem, opensearch-key.pem (CA key: deploy/certs/ca-key.pem)"
