#pragma once
// The evaluation report: results.json (wordlight::summarize(), the core) ->
// one HTML page, no scripts, no external resources, SVG plots. Outside the
// core: presenting results is the shell's business. Used by the CLI
// (`wordlight evaluate` writes <out>/report.html) and the tests.
#include <string>
#include <vector>

namespace wordlight {

// The page. Throws Error when results_json is not JSON.
std::string evaluation_report_html(const std::string& results_json);

// Writes out_dir/report.html from results_json. Throws Error naming the file.
void write_evaluation_report(const std::string& out_dir, const std::string& results_json);

// The metric families the report has a section for, in its order (each
// section is <h2 id='NAME'>; the names are results.json's keys).
std::vector<std::string> evaluation_report_sections();

}  // namespace wordlight
