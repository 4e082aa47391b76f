// General service queries (DEN0028 "General Service Queries": Call Count, Call UID, Revision).
#include "firmware/general_queries.h"

#include <stdexcept>
#include <string>

#include "firmware/dispatcher.h"

namespace emu::fw {
namespace {
constexpr std::uint16_t kFnCallCount = 0xFF00;
constexpr std::uint16_t kFnCallUid = 0xFF01;
constexpr std::uint16_t kFnRevision = 0xFF03;
}  // namespace

GeneralQueries::GeneralQueries(const GeneralQueriesConfig& config)
    : owner_(config.owner),
      uid_(config.uid),
      revision_(config.revision),
      gate_(config.gate),
      gate_mask_(config.gate_mask),
      range_{config.owner, 0xFF00, 0xFFFF} {
  if (config.uid && (*config.uid)[0] == 0xFFFF'FFFFu) {
    throw std::invalid_argument("a Call UID's first word must not be 0xFFFFFFFF");
  }
  const std::string prefix(config.prefix);
  names_ = {prefix + " general queries", prefix + "_CALL_COUNT", prefix + "_CALL_UID", prefix + "_REVISION"};
  if (config.call_count) {
    functions_[count_++] = FunctionDesc{.number = kFnCallCount, .name = names_[1], .result = ResultKind::Value};
  }
  if (config.uid) {
    functions_[count_++] = FunctionDesc{.number = kFnCallUid, .name = names_[2], .result = ResultKind::Value};
  }
  if (config.revision) {
    functions_[count_++] = FunctionDesc{.number = kFnRevision, .name = names_[3], .result = ResultKind::Value};
  }
}

void GeneralQueries::handle(const FunctionDesc& fn, SmcccCall& /*call*/, SmcccResult& result) {
  switch (fn.number) {
    case kFnCallCount: result.x[0] = dispatcher_->call_count(owner_); return;
    case kFnCallUid:
      for (std::size_t i = 0; i < 4; ++i) result.x[i] = (*uid_)[i];
      return;
    case kFnRevision:
      result.x[0] = (*revision_)[0];
      result.x[1] = (*revision_)[1];
      return;
    default: set_not_supported(result); return;
  }
}

std::string_view GeneralQueries::status_name(std::int64_t code) const {
  return code == -1 ? std::string_view("NOT_SUPPORTED") : std::string_view();
}

}  // namespace emu::fw
