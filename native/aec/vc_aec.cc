/*
 * videochat's echo canceller: a thin N-API wrapper over the WebRTC audio processing module
 * (Debian's libwebrtc-audio-processing, 0.3): its acoustic echo canceller with the extended
 * filter and delay-agnostic mode (it finds the delay between what was played and what the
 * microphone hears by itself), optionally its noise suppressor. Mono 16-bit PCM, 10 ms frames.
 *
 *   create(sampleRate, suppression 0..2, denoise) -> handle
 *   render(handle, far)          a 10 ms frame that was just handed to the speaker
 *   capture(handle, near, out, delayMs)   a 10 ms frame from the microphone -> echo removed
 *                                into out; delayMs = the expected speaker -> mic delay
 *   reset(handle)
 */
#include <node_api.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <cstdint>
#include <cstring>

namespace {

struct Aec {
  webrtc::AudioProcessing* apm;
  int rate;
  int frame;
  int suppression;
  bool denoise;
};

bool Configure(Aec* a) {
  webrtc::Config cfg;
  cfg.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
  cfg.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
  a->apm = webrtc::AudioProcessing::Create(cfg);
  if (!a->apm) return false;
  webrtc::EchoCancellation* ec = a->apm->echo_cancellation();
  ec->enable_drift_compensation(false);
  ec->set_suppression_level(static_cast<webrtc::EchoCancellation::SuppressionLevel>(a->suppression));
  if (ec->Enable(true) != 0) return false;
  if (a->denoise) {
    a->apm->noise_suppression()->set_level(webrtc::NoiseSuppression::kModerate);
    a->apm->noise_suppression()->Enable(true);
  }
  return true;
}

void Finalize(napi_env, void* data, void*) {
  Aec* a = static_cast<Aec*>(data);
  delete a->apm;
  delete a;
}

napi_value Throw(napi_env env, const char* msg) {
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}

Aec* Handle(napi_env env, napi_value v) {
  void* p = nullptr;
  if (napi_get_value_external(env, v, &p) != napi_ok) return nullptr;
  return static_cast<Aec*>(p);
}

int16_t* Frame(napi_env env, napi_value v, int frame) {
  void* data = nullptr;
  size_t len = 0;
  if (napi_get_buffer_info(env, v, &data, &len) != napi_ok || len < static_cast<size_t>(frame) * 2) return nullptr;
  return static_cast<int16_t*>(data);
}

void ToFloat(const int16_t* in, float* out, int n) {
  for (int i = 0; i < n; i++) out[i] = in[i] / 32768.0f;
}

napi_value Create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 3) return Throw(env, "vc_aec.create(rate, suppression, denoise)");
  int32_t rate = 0, suppression = 0;
  bool denoise = false;
  napi_get_value_int32(env, argv[0], &rate);
  napi_get_value_int32(env, argv[1], &suppression);
  napi_get_value_bool(env, argv[2], &denoise);
  if ((rate != 8000 && rate != 16000 && rate != 32000 && rate != 48000) || suppression < 0 || suppression > 2) return Throw(env, "vc_aec.create: bad rate or suppression");
  Aec* a = new Aec{nullptr, rate, rate / 100, suppression, denoise};
  if (!Configure(a)) {
    Finalize(env, a, nullptr);
    return Throw(env, "vc_aec: the audio processing module did not start");
  }
  napi_value handle;
  if (napi_create_external(env, a, Finalize, nullptr, &handle) != napi_ok) {
    Finalize(env, a, nullptr);
    return Throw(env, "vc_aec: napi_create_external failed");
  }
  return handle;
}

napi_value Render(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Aec* a = argc >= 2 ? Handle(env, argv[0]) : nullptr;
  const int16_t* far = a ? Frame(env, argv[1], a->frame) : nullptr;
  if (!far) return Throw(env, "vc_aec.render(handle, far): a 10 ms frame");
  float buf[480];
  ToFloat(far, buf, a->frame);
  const float* src[1] = {buf};
  float* dst[1] = {buf};
  webrtc::StreamConfig sc(a->rate, 1);
  if (a->apm->ProcessReverseStream(src, sc, sc, dst) != 0) return Throw(env, "vc_aec.render failed");
  return nullptr;
}

napi_value Capture(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Aec* a = argc >= 4 ? Handle(env, argv[0]) : nullptr;
  int32_t delay = 0;
  if (a && napi_get_value_int32(env, argv[3], &delay) != napi_ok) a = nullptr;
  const int16_t* near = a ? Frame(env, argv[1], a->frame) : nullptr;
  int16_t* out = a ? Frame(env, argv[2], a->frame) : nullptr;
  if (!near || !out) return Throw(env, "vc_aec.capture(handle, near, out, delayMs): 10 ms frames");
  float in[480], res[480];
  ToFloat(near, in, a->frame);
  const float* src[1] = {in};
  float* dst[1] = {res};
  webrtc::StreamConfig sc(a->rate, 1);
  // Delay-agnostic mode refines the delay itself, but only near the reported one: measured,
  // a report of 80 ms cancels echo 30..150 ms late (docs/media.md).
  a->apm->set_stream_delay_ms(delay < 0 ? 0 : delay > 500 ? 500 : delay);
  if (a->apm->ProcessStream(src, sc, sc, dst) != 0) return Throw(env, "vc_aec.capture failed");
  for (int i = 0; i < a->frame; i++) {
    float s = res[i] * 32768.0f;
    out[i] = static_cast<int16_t>(s > 32767.0f ? 32767 : s < -32768.0f ? -32768 : s);
  }
  return nullptr;
}

napi_value Reset(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Aec* a = argc >= 1 ? Handle(env, argv[0]) : nullptr;
  if (!a) return Throw(env, "vc_aec.reset(handle)");
  delete a->apm;
  a->apm = nullptr;
  if (!Configure(a)) return Throw(env, "vc_aec: the audio processing module did not restart");
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", nullptr, Create, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"render", nullptr, Render, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"capture", nullptr, Capture, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reset", nullptr, Reset, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
