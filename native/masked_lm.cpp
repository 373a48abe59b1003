// The masked LM of input-marginalization for the CLI (masked_lm.h).
#include "masked_lm.h"

#include <sys/stat.h>

#include <vector>

#include "wordlight/model_files.h"

namespace wordlight::cli {

namespace {
bool is_dir(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
}  // namespace

MaskedLm load_masked_lm(const Args& a, const std::string& classifier_dir, bool needed) {
  MaskedLm m;
  if (a.has("mlm")) {
    m.dir = a.get("mlm");
  } else if (needed) {
    std::string parent = classifier_dir;
    while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    const size_t slash = parent.rfind('/');
    parent = slash == std::string::npos ? "." : parent.substr(0, slash);
    const std::vector<std::string> tried = {"models/sst2-bert-mlm", parent + "/sst2-bert-mlm"};
    for (const std::string& d : tried)
      if (is_dir(d)) {
        m.dir = d;
        break;
      }
    if (m.dir.empty())
      throw Error("input-marginalization needs a masked language model: give --mlm DIR (none at " + tried[0] +
                  " nor " + tried[1] + ")");
  } else {
    return m;
  }
  LoadedModel loaded = load_model_directory(m.dir);
  if (loaded.model->config().head != ModelHead::MaskedLM)
    throw Error("--mlm " + m.dir + ": " + loaded.model->config().architecture + " is not a masked language model");
  m.model = std::move(loaded.model);
  m.tokenizer = std::move(loaded.tokenizer);
  return m;
}

}  // namespace wordlight::cli
