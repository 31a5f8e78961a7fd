# Sourced by the benchmark scripts: what they measure the same way.

# cpu_ticks PID...: utime + stime of each PID and its children (nginx's
# workers), in clock ticks (getconf CLK_TCK per second); a PID that has
# exited counts nothing.
cpu_ticks() {
	local p s=0 t
	for p in "$@" $(for p in "$@"; do pgrep -P "$p"; done); do
		t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
		s=$((s + ${t:-0}))
	done
	echo "$s"
}

# median_of NAME COLUMN FILE: the median of COLUMN over FILE's lines whose
# first field is NAME.
median_of() {
	awk -v name="$1" -v col="$2" '$1 == name { v[++n] = $col }
		END { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		      print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }' "$3"
}
