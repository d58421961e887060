#include "core/content.h"

namespace npzfs::core {

// One reader per member, used by one thread at a time: sequential reads of
// a member continue where the previous one stopped.
struct Content::MemberState {
  std::mutex mu;
  std::unique_ptr<MemberReader> reader;
};

Content::Content(const Archive& archive, ContentOptions options)
    : archive_(archive), options_(options), states_(archive.entries().size()) {}

Content::~Content() = default;

Content::MemberState& Content::StateOf(size_t member) {
  std::lock_guard lock(states_mu_);
  auto& state = states_.at(member);
  if (!state) state = std::make_unique<MemberState>();
  return *state;
}

Result<size_t> Content::Read(size_t member, uint64_t offset, std::span<std::byte> out) {
  MemberState& state = StateOf(member);
  std::lock_guard lock(state.mu);
  if (!state.reader) {
    auto reader = archive_.OpenReader(member);
    if (!reader) return Fail(std::move(reader).error());
    state.reader = std::move(*reader);
  }
  return state.reader->ReadAt(offset, out);
}

}  // namespace npzfs::core
