#include "kube/watch.h"

#include "absl/strings/str_cat.h"

namespace kube {

absl::string_view WatchEventTypeName(WatchEvent::Type type) {
  switch (type) {
    case WatchEvent::Type::kAdded:
      return "ADDED";
    case WatchEvent::Type::kModified:
      return "MODIFIED";
    case WatchEvent::Type::kDeleted:
      return "DELETED";
    case WatchEvent::Type::kBookmark:
      return "BOOKMARK";
    case WatchEvent::Type::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

absl::Status WatchDecoder::Feed(absl::string_view chunk, const Handler& handler) {
  // Frames end with '\n'. Scan only the new bytes for newlines so a frame that arrives in
  // many small chunks costs linear time, not quadratic.
  size_t start = 0;
  while (start < chunk.size()) {
    const size_t nl = chunk.find('\n', start);
    const size_t end = nl == absl::string_view::npos ? chunk.size() : nl;
    if (pending_.size() + (end - start) > max_frame_bytes_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("watch frame exceeds the limit of ", max_frame_bytes_, " bytes"));
    }
    if (nl == absl::string_view::npos) {
      absl::StrAppend(&pending_, chunk.substr(start));
      break;
    }
    absl::Status s;
    if (pending_.empty()) {
      s = DecodeFrame(chunk.substr(start, end - start), handler);
    } else {
      absl::StrAppend(&pending_, chunk.substr(start, end - start));
      std::string frame;
      frame.swap(pending_);
      s = DecodeFrame(frame, handler);
    }
    if (!s.ok()) return s;
    start = nl + 1;
  }
  return absl::OkStatus();
}

absl::Status WatchDecoder::Finish() const {
  for (char c : pending_) {
    if (c != ' ' && c != '\r' && c != '\t') {
      return absl::DataLossError(
          absl::StrCat("watch stream ended inside an event (", pending_.size(), " bytes)"));
    }
  }
  return absl::OkStatus();
}

absl::Status WatchDecoder::DecodeFrame(absl::string_view frame, const Handler& handler) {
  if (frame.find_first_not_of(" \r\t") == absl::string_view::npos) return absl::OkStatus();
  Json json = Json::parse(frame, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::DataLossError(
        absl::StrCat("malformed watch event (", frame.size(), " bytes): not a JSON object"));
  }
  auto type = json.find("type");
  auto object = json.find("object");
  if (type == json.end() || !type->is_string() || object == json.end() || !object->is_object()) {
    return absl::DataLossError("malformed watch event: needs a string \"type\" and an \"object\"");
  }
  WatchEvent event;
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "ADDED") {
    event.type = WatchEvent::Type::kAdded;
  } else if (t == "MODIFIED") {
    event.type = WatchEvent::Type::kModified;
  } else if (t == "DELETED") {
    event.type = WatchEvent::Type::kDeleted;
  } else if (t == "BOOKMARK") {
    event.type = WatchEvent::Type::kBookmark;
  } else if (t == "ERROR") {
    event.type = WatchEvent::Type::kError;
  } else {
    return absl::DataLossError(absl::StrCat("unknown watch event type \"", t.substr(0, 32), "\""));
  }
  event.object = Object(std::move(*object));
  return handler(std::move(event));
}

}  // namespace kube
