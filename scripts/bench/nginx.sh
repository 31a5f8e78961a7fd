# Sourced by the benchmark scripts: nginx as the reference reverse proxy.
#
# nginx_conf DIR LISTEN_PORT UPSTREAM_PORT WORKERS: writes DIR/nginx.conf, an
# nginx (Debian's nginx-light) that proxies 127.0.0.1:LISTEN_PORT to
# 127.0.0.1:UPSTREAM_PORT with upstream keep-alive, no access log, its pid,
# error log and temporary files in DIR. Start it with
#   nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'
nginx_conf() {
	local dir=$1 listen=$2 upstream=$3 workers=$4
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<CONF
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 100000;
    upstream backend {
        server 127.0.0.1:$upstream;
        keepalive 256;
        keepalive_requests 100000;
    }
    server {
        listen 127.0.0.1:$listen;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
CONF
}
