"""The Spark session: `local[*]` by default, any master through `--master` or `spark-submit`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from dataforge.core.errors import ForgeError

# Spark's own log level; errors only unless asked (`forge --verbose` sets INFO), so the terminal shows
# the engine's progress and tables rather than Spark's console output.
LOG_ENV = "FORGE_SPARK_LOG"
# Small-data defaults for one machine; under spark-submit the cluster's own settings win.
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "4g",
}
COMMON_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Spark writes _SUCCESS and .crc files beside data; the engine's manifest replaces both.
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.hadoop.parquet.enable.summary-metadata": "false",
}


def spark_home() -> Path:
    """The Spark distribution that ships inside the pip-installed pyspark (bin/spark-submit, ...)."""
    import pyspark

    return Path(pyspark.__file__).parent


def java_major() -> int | None:
    java = shutil.which("java")
    if java is None:
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    for token in out.split('"')[1:2]:
        head = token.split(".")[0]
        return int(token.split(".")[1]) if head == "1" else int(head)
    return None


def check_java() -> None:
    major = java_major()
    if major is None or major < 17:
        found = "no java on PATH" if major is None else f"java {major}"
        raise ForgeError(f"Spark needs Java 17+ ({found}): run `make setup` or install openjdk-17-jre-headless")


def under_spark_submit() -> bool:
    return "PYSPARK_GATEWAY_PORT" in os.environ


def get_spark(master: str | None = None, app_name: str = "dataforge", conf: dict[str, Any] | None = None):
    """Return the active SparkSession or start one.

    Args:
        master: `local[*]` when None (unless spark-submit chose one), else any Spark master URL.
        conf: extra Spark settings.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Executors must run this interpreter so they see the same installed packages as the driver.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    settings = dict(COMMON_CONF)
    if not under_spark_submit():
        check_java()
        master = master or "local[*]"
        if master.startswith("local"):
            settings.update(LOCAL_CONF)
            # One machine: bind to loopback (no hostname warnings) and keep Spark's logs to errors.
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            log4j = Path(__file__).with_name("log4j2.properties")
            settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={log4j.as_uri()}"
    if master:
        builder = builder.master(master)
    settings.update(conf or {})
    for k, v in settings.items():
        builder = builder.config(k, v)
    if os.environ.get(LOG_ENV):  # asked for (`forge --verbose`): Spark's own stage bars too
        builder = builder.config("spark.ui.showConsoleProgress", "true")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get(LOG_ENV) or "ERROR")
    return spark


def ship_by_value(module: ModuleType) -> None:
    """Pickle a spec module's functions and classes by value, so executors need not import its file."""
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(module)
