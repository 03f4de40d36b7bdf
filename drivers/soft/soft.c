/* soft device: placeholder until written */
