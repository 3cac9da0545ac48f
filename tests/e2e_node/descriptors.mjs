// Prints the FileDescriptorProtos that @zitadel/proto embeds for the files the mock's protos
// copy, as {"<file name>": "<base64 of the serialized FileDescriptorProto>"}. Options travel
// as their wire bytes, so the reader sees google.api.http too.
import { toBinary } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { file_zitadel_management } from "@zitadel/proto/zitadel/management_pb.js";

const wanted = new Set(process.argv.slice(2));
const out = {};
const visit = (file) => {
  if (file.proto.name in out) return;
  out[file.proto.name] = base64Encode(toBinary(FileDescriptorProtoSchema, file.proto));
  file.dependencies.forEach(visit);
};
visit(file_zitadel_management);
process.stdout.write(
  JSON.stringify(Object.fromEntries(Object.entries(out).filter(([name]) => wanted.has(name)))),
);
