#pragma once
// Readers for labelled text data sets (training and evaluation). Each gives
// texts with their labels as strings; label_ids() turns those into the
// model's label ids. Errors name the file and, for a malformed line, its
// line number ("train.tsv:17: ...").
//
//   read_sst_lines   "label sentence" per line (SST-2 / SST-5 stsa.* files)
//   read_tsv         a header naming a text column ("sentence" or "text")
//                    and a "label" column (GLUE SST-2)
//   read_agnews      "text<TAB>label" lines without a header (AG News as in
//                    ../shared/data/agnews); the remains of HTML entities
//                    (" #39;", " quot;", " amp;", "#36;") and "\\" are read
//                    as the characters they stood for
//   read_jsonl       one JSON object per line with "text" (string) and
//                    "label" (string or integer); blank lines are skipped
//   read_class_dirs  <root>/<class name>/<one file per text>; classes and
//                    files in byte order of their names. NewsHeaders::drop
//                    drops each file's e-mail header, everything up to the
//                    first blank line (scikit-learn's fetch_20newsgroups
//                    remove=("headers",)); it also reads only files named
//                    by a number, as 20 Newsgroups posts are (the bydate
//                    archive has a stray "54473-o").
//   read_imdb        an IMDB split (Maas et al. 2011): <root>/pos and
//                    <root>/neg, one review per file, labels "neg" / "pos";
//                    the reviews' "<br />" tags become spaces
//   read_data_spec   "KIND:PATH" with KIND one of sst2 (a .tsv file is read
//                    as TSV, any other as "label sentence" lines), tsv,
//                    agnews, jsonl, dir, newsgroups (headers dropped),
//                    newsgroups-subject (headers dropped but the subject),
//                    imdb; several specs separated
//                    by commas are read one after the other into one set;
//                    a spec ending in "@first=N" keeps its first N examples
//                    (a fixed slice: "agnews:test.tsv@first=2000").
#include <cstdint>
#include <string>
#include <vector>

namespace wordlight {

struct ModelConfig;

struct TextDataset {
  std::string source;  // what errors call it
  std::vector<std::string> texts;
  std::vector<std::string> labels;
  size_t size() const { return texts.size(); }
};

TextDataset read_sst_lines(const std::string& path);
TextDataset read_tsv(const std::string& path);
TextDataset read_agnews(const std::string& path);
TextDataset read_jsonl(const std::string& path);
// What read_class_dirs keeps of an e-mail header.
enum class NewsHeaders {
  keep,          // the whole file (plain class folders)
  drop,          // only the body: everything after the first blank line
  subject_only,  // the Subject line's value, a blank line, then the body
};
TextDataset read_class_dirs(const std::string& root, NewsHeaders headers);
TextDataset read_imdb(const std::string& root);
TextDataset read_data_spec(const std::string& spec);

// Label ids: a label equal to names[i] is i; otherwise an integer label in
// [0, names.size()) is itself. Anything else throws, naming the data set,
// the example and the label.
std::vector<int32_t> label_ids(const TextDataset& data, const std::vector<std::string>& names);

// The label names to train with: the model's id2label when the data's
// labels fit it (label_ids() succeeds), else the data's distinct labels in
// byte order, which must be as many as the model's num_labels.
std::vector<std::string> choose_label_names(const TextDataset& train, const ModelConfig& config);

}  // namespace wordlight
