// The table of metric families (see ../metric_family.h): one row each, in
// the order of results.json's sections. An explicit list, not
// self-registering objects (a static library's unreferenced objects are
// dropped by the linker).
#include "../metric_family.h"

namespace wordlight {
namespace evaluation {

ReadPerturbed deletion_per_method(MethodContext&);
Json deletion_summary(const SummaryContext&, std::vector<RankedMetric>&);
ReadPerturbed eraser_per_method(MethodContext&);
Json eraser_summary(const SummaryContext&, std::vector<RankedMetric>&);
Json plausibility_summary(const SummaryContext&, std::vector<RankedMetric>&);
void confidence_prepare(DocumentContext&);
ReadPerturbed confidence_per_method(MethodContext&);
Json confidence_summary(const SummaryContext&, std::vector<RankedMetric>&);
ReadPerturbed faithfulness_per_method(MethodContext&);
Json faithfulness_summary(const SummaryContext&, std::vector<RankedMetric>&);
ReadPerturbed consistency_per_method(MethodContext&);
Json consistency_summary(const SummaryContext&, std::vector<RankedMetric>&);
Json time_summary(const SummaryContext&, std::vector<RankedMetric>&);
void docvectors_prepare(DocumentContext&);
ReadPerturbed docvectors_per_method(MethodContext&);
Json docvectors_summary(const SummaryContext&, std::vector<RankedMetric>&);
Json topwords_summary(const SummaryContext&, std::vector<RankedMetric>&);

const std::vector<MetricFamily>& metric_families() {
  //                                        name            prepare             per_method               summarize
  static const std::vector<MetricFamily> t = {{"deletion",     nullptr,            deletion_per_method,     deletion_summary},
                                              {"eraser",       nullptr,            eraser_per_method,       eraser_summary},
                                              {"plausibility", nullptr,            nullptr,                 plausibility_summary},
                                              {"confidence",   confidence_prepare, confidence_per_method,   confidence_summary},
                                              {"faithfulness", nullptr,            faithfulness_per_method, faithfulness_summary},
                                              {"consistency",  nullptr,            consistency_per_method,  consistency_summary},
                                              {"time",         nullptr,            nullptr,                 time_summary},
                                              {"docvectors",   docvectors_prepare, docvectors_per_method,   docvectors_summary},
                                              {"topwords",     nullptr,            nullptr,                 topwords_summary}};
  return t;
}

}  // namespace evaluation
}  // namespace wordlight
