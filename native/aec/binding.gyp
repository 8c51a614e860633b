{
  "targets": [
    {
      "target_name": "vc_aec",
      "sources": ["vc_aec.cc"],
      "cflags_cc": ["<!@(pkg-config --cflags webrtc-audio-processing)", "-std=c++11", "-O2", "-fexceptions"],
      "libraries": ["<!@(pkg-config --libs webrtc-audio-processing)"]
    }
  ]
}
