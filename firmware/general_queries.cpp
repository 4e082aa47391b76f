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
    functions_[count_++] = FunctionDesc{.number = kFnCallCount,
                                        .name = names_[1],
                                        .result = ResultKind::Value,
                                        .handler = [](Service& s, const SmcccCall&, SmcccResult& result) {
                                          const GeneralQueries& q = self<GeneralQueries>(s);
                                          result.x[0] = q.dispatcher_->call_count(q.owner_);
                                        }};
  }
  if (config.uid) {
    functions_[count_++] = FunctionDesc{.number = kFnCallUid,
                                        .name = names_[2],
                                        .result = ResultKind::Value,
                                        .handler = [](Service& s, const SmcccCall&, SmcccResult& result) {
                                          const CallUid& uid = *self<GeneralQueries>(s).uid_;
                                          for (std::size_t i = 0; i < 4; ++i) result.x[i] = uid[i];
                                        }};
  }
  if (config.revision) {
    functions_[count_++] = FunctionDesc{.number = kFnRevision,
                                        .name = names_[3],
                                        .result = ResultKind::Value,
                                        .handler = [](Service& s, const SmcccCall&, SmcccResult& result) {
                                          const std::array<std::uint32_t, 2>& revision =
                                              *self<GeneralQueries>(s).revision_;
                                          result.x[0] = revision[0];
                                          result.x[1] = revision[1];
                                        }};
  }
}

}  // namespace emu::fw
