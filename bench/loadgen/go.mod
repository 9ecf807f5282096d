module lindung.dev/bench/loadgen

go 1.22
