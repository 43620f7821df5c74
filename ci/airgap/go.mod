// The two small programs the air-gapped build compiles itself (standard library only).
module mnist-e2e.invalid/airgap

go 1.24
