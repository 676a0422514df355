using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Gatehouse.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class DecisionLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "PolicyName",
                table: "servers",
                type: "TEXT",
                maxLength: 63,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PolicyName",
                table: "grants",
                type: "TEXT",
                maxLength: 63,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "decisions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    RequestId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    PrincipalId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    PrincipalLabel = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Server = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    Method = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Target = table.Column<string>(type: "TEXT", maxLength: 2048, nullable: true),
                    Decision = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Rule = table.Column<string>(type: "TEXT", maxLength: 512, nullable: true),
                    PolicyVersion = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    ArgumentKeysJson = table.Column<string>(type: "TEXT", nullable: false),
                    ArgumentValuesJson = table.Column<string>(type: "TEXT", nullable: true),
                    UpstreamStatus = table.Column<int>(type: "INTEGER", nullable: true),
                    LatencyMs = table.Column<double>(type: "REAL", nullable: false),
                    ErrorCode = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    Message = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_decisions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "policies",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    Version = table.Column<int>(type: "INTEGER", nullable: false),
                    Document = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_policies", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "policy_versions",
                columns: table => new
                {
                    PolicyId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Version = table.Column<int>(type: "INTEGER", nullable: false),
                    Document = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    Actor = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_policy_versions", x => new { x.PolicyId, x.Version });
                    table.ForeignKey(
                        name: "FK_policy_versions_policies_PolicyId",
                        column: x => x.PolicyId,
                        principalTable: "policies",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_decisions_At",
                table: "decisions",
                column: "At");

            migrationBuilder.CreateIndex(
                name: "IX_decisions_Decision",
                table: "decisions",
                column: "Decision");

            migrationBuilder.CreateIndex(
                name: "IX_decisions_PrincipalId",
                table: "decisions",
                column: "PrincipalId");

            migrationBuilder.CreateIndex(
                name: "IX_decisions_Server",
                table: "decisions",
                column: "Server");

            migrationBuilder.CreateIndex(
                name: "IX_decisions_Target",
                table: "decisions",
                column: "Target");

            migrationBuilder.CreateIndex(
                name: "IX_policies_Name",
                table: "policies",
                column: "Name",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "decisions");

            migrationBuilder.DropTable(
                name: "policy_versions");

            migrationBuilder.DropTable(
                name: "policies");

            migrationBuilder.DropColumn(
                name: "PolicyName",
                table: "servers");

            migrationBuilder.DropColumn(
                name: "PolicyName",
                table: "grants");
        }
    }
}
