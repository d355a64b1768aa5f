// Fuzzes JSON decoding of API responses: objects, their accessors, log redaction and the
// Status bodies of error responses. Any crash, leak or undefined behaviour is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kube/errors.h"
#include "kube/object.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto object = kube::Object::Parse(text);
  if (object.ok()) {
    (void)object->name();
    (void)object->key().ToString();
    (void)object->generation();
    (void)object->labels();
    (void)object->owner_references();
    (void)object->controller_owner();
    (void)kube::RedactedForLog(object->json()).dump();
  }
  const int code = size > 0 ? 400 + data[0] % 200 : 500;
  absl::Status status = kube::StatusFromResponse(code, text);
  (void)kube::Causes(status);
  (void)kube::Reason(status);
  (void)kube::StatusFromStatusObject(text);
  return 0;
}
