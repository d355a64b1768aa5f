#include "kube/resource.h"

#include "absl/strings/str_cat.h"

namespace kube {

std::string Resource::GroupVersionPath() const {
  return group.empty() ? absl::StrCat("/api/", version)
                       : absl::StrCat("/apis/", group, "/", version);
}

std::string Resource::CollectionPath(absl::string_view ns) const {
  if (namespaced && !ns.empty()) {
    return absl::StrCat(GroupVersionPath(), "/namespaces/", ns, "/", resource);
  }
  return absl::StrCat(GroupVersionPath(), "/", resource);
}

std::string Resource::ObjectPath(absl::string_view ns, absl::string_view name,
                                 absl::string_view subresource) const {
  std::string path = absl::StrCat(CollectionPath(namespaced ? ns : ""), "/", name);
  if (!subresource.empty()) absl::StrAppend(&path, "/", subresource);
  return path;
}

}  // namespace kube
