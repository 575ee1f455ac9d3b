using Apache.Arrow;

namespace Caudal.Processing.Spark.Protocol;

public sealed partial class ExecutePlanResponse
{
    /// <summary>The arrow_batch's record batches, read as the response was received (<see cref="ExecutePlanResponses"/>);
    /// then the message holds no copy of the Arrow bytes. Null for a response built or parsed otherwise.</summary>
    internal IReadOnlyList<RecordBatch>? ReceivedBatches { get; set; }
}
