"""TF Serving's config files parsed with TF Serving's protos: a linter for service/tfserving/ (tests only)."""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format, wrappers_pb2

# ---------------------------------------------------------------------------------------------------
# TF Serving config files
#
# tensorflow-serving-api ships ModelServerConfig but not the protos of --batching_parameters_file
# (session_bundle_config.proto) and --monitoring_config_file (monitoring_config.proto). Until it
# does, the messages below mirror upstream field for field (names, numbers, types) for every field
# of MonitoringConfig and for BatchingParameters fields 1-7, the ones our batching.config uses; a
# field TF Serving added later would be rejected here, which is the safe direction for a linter.


def _mirrored_config_protos() -> tuple[type, type]:
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)

    f = descriptor_pb2.FieldDescriptorProto
    opt, rep = f.LABEL_OPTIONAL, f.LABEL_REPEATED
    int64_value, string_value = ".google.protobuf.Int64Value", ".google.protobuf.StringValue"

    def message(name: str, fields: list[tuple[str, int, int, int, str]]) -> descriptor_pb2.DescriptorProto:
        msg = descriptor_pb2.DescriptorProto(name=name)
        for field_name, number, label, ftype, type_name in fields:
            field = msg.field.add(name=field_name, number=number, label=label, type=ftype)
            if type_name:
                field.type_name = type_name
        return msg

    mirror = descriptor_pb2.FileDescriptorProto(
        name="ocr_service/tfserving_config_mirror.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    mirror.message_type.extend(
        [
            message(
                "BatchingParameters",
                [
                    ("max_batch_size", 1, opt, f.TYPE_MESSAGE, int64_value),
                    ("batch_timeout_micros", 2, opt, f.TYPE_MESSAGE, int64_value),
                    ("max_enqueued_batches", 3, opt, f.TYPE_MESSAGE, int64_value),
                    ("num_batch_threads", 4, opt, f.TYPE_MESSAGE, int64_value),
                    ("thread_pool_name", 5, opt, f.TYPE_MESSAGE, string_value),
                    ("allowed_batch_sizes", 6, rep, f.TYPE_INT64, ""),
                    ("pad_variable_length_inputs", 7, opt, f.TYPE_BOOL, ""),
                ],
            ),
            message(
                "PrometheusConfig", [("enable", 1, opt, f.TYPE_BOOL, ""), ("path", 2, opt, f.TYPE_STRING, "")]
            ),
            message(
                "MonitoringConfig",
                [("prometheus_config", 1, opt, f.TYPE_MESSAGE, ".tensorflow.serving.PrometheusConfig")],
            ),
        ]
    )
    pool.Add(mirror)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.MonitoringConfig")),
    )


try:  # prefer the real protos if a later tensorflow-serving-api ships them
    from tensorflow_serving.config.monitoring_config_pb2 import MonitoringConfig  # type: ignore
    from tensorflow_serving.servables.tensorflow.session_bundle_config_pb2 import (  # type: ignore
        BatchingParameters,
    )
except ImportError:
    BatchingParameters, MonitoringConfig = _mirrored_config_protos()


def parse_model_server_config(text: str):  # -> ModelServerConfig
    """Parse a `--model_config_file`; raises text_format.ParseError on any typo."""
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def parse_batching_parameters(text: str):  # -> BatchingParameters
    """Parse a `--batching_parameters_file`; raises text_format.ParseError on any typo."""
    return text_format.Parse(text, BatchingParameters())


def parse_monitoring_config(text: str):  # -> MonitoringConfig
    """Parse a `--monitoring_config_file`; raises text_format.ParseError on any typo."""
    return text_format.Parse(text, MonitoringConfig())
