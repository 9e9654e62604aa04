{
  "targets": [
    {
      "target_name": "higgs_bpf",
      "sources": ["native/higgs_bpf.c"],
      "cflags": ["-Wall", "-Werror", "-O2"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
